"""The residents' callback form (/callback) and the chat's offline callback view, in a real
browser against the real API: at a phone's width in Swedish it passes axe-core, a double
click sends one request, the confirmation says in Swedish when we call and a lead sees the
request with the chosen window; a bad number gets the Swedish sentence at the phone field."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from inbox.hours import HELSINKI
from tests.conftest import ROOT, Service
from tests.e2e.conftest import Watch
from tests.e2e.widget_site import axe

pytestmark = pytest.mark.browser

TIMEOUT = 10_000
PHONE = {"width": 390, "height": 844}
OPEN_TIME = datetime(2026, 12, 2, 9, 30, tzinfo=HELSINKI)  # a Wednesday, within 9-15
CLOSED_TIME = datetime(2026, 12, 5, 10, 0, tzinfo=HELSINKI)  # a Saturday
SV = json.loads((ROOT / "web" / "locale" / "sv" / "widget.json").read_text("utf-8"))
FI = json.loads((ROOT / "web" / "locale" / "fi" / "widget.json").read_text("utf-8"))


def lead(service: Service) -> str:
    return service.add_staff("liisa@hel.fi", ["itainen"], role="lead", name="Liisa Lead")


async def callbacks(service: Service, token: str) -> list[dict[str, Any]]:
    return (await service.get_json("/api/v1/callbacks", token))["items"]


def same_window(stored: dict[str, str] | None, chosen: dict[str, str]) -> bool:
    return stored is not None and all(
        datetime.fromisoformat(stored[k]) == datetime.fromisoformat(chosen[k])
        for k in ("from", "to"))


async def choose_window(page: Page, service: Service, lang: str, index: int = 1
                        ) -> dict[str, str]:
    """Waits for the area's windows in the form and picks one; returns it as the API has it."""
    select = page.locator("#yh-cb-window")
    await expect(select.locator("option").nth(index)).to_be_attached()
    async with service.http.get(f"{service.url}/api/v1/callbacks/windows",
                                params={"postal_code": "00940", "lang": lang}) as r:
        windows = (await r.json())["windows"]
    label = (await select.locator("option").nth(index).text_content() or "").strip()
    await select.select_option(index=index)
    chosen = windows[index - 1]
    assert chosen["label"] == label, (chosen, label)
    return chosen


async def test_swedish_form_on_a_phone_passes_axe_and_sends_once(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    service.running.system.clock.set(OPEN_TIME)
    token = lead(service)
    page = await (await browser.new_context(viewport=PHONE)).new_page()
    problems = await watch(page, "resident")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    await page.goto(f"{service.url}/callback?lang=sv")
    await expect(page.locator("html")).to_have_attribute("lang", "sv")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Be en bostadsrådgivare ringa upp dig")
    await expect(page.locator("#yh-cb-send")).to_be_enabled()  # the script runs
    found = await axe(page, "empty")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    form = page.locator("#yh-callback")
    await form.get_by_label("Telefonnummer").fill("040 123 4567")
    await form.get_by_label("Postnummer", exact=True).fill("00940")
    await expect(page.locator("#yh-cb-window-help")).to_have_text(SV["callback.windows.ready"])
    chosen = await choose_window(page, service, "sv")
    await expect(form.get_by_role("radio", name="Svenska")).to_be_checked()
    await form.get_by_label("Ämne (frivilligt)").select_option(label="Hyresskuld")
    text = "Hyran för två månader är obetald."
    await form.get_by_label("Vad gäller det? (frivilligt)").fill(text)
    found += await axe(page, "filled in")

    await page.locator("#yh-cb-send").dblclick()
    done = page.locator("#yh-cb-done")
    await expect(done).to_be_visible()
    await expect(done).to_be_focused()
    await expect(done).to_contain_text("Tack! Vi har tagit emot din begäran om återuppringning.")
    sentence = (await page.locator("#yh-cb-done-text").text_content() or "").strip()
    assert sentence.startswith("Vi ringer"), sentence
    assert "call" not in sentence.lower(), "the confirmation is not in Swedish"
    await expect(form).to_be_hidden()
    found += await axe(page, "sent")

    [request] = await callbacks(service, token)
    assert request["area"] == "itainen" and request["language"] == "sv"
    assert request["topic"] == 2 and request["text"] == text
    assert same_window(request["preferred_time"], chosen), (request, chosen)
    assert [u for u in posts if "/api/v1/callbacks" in u] and len(posts) == 1, posts
    assert not found, "\n".join(found)
    assert not problems, "\n".join(problems)


async def test_a_bad_number_gets_the_swedish_sentence_at_the_phone_field(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    service.running.system.clock.set(OPEN_TIME)
    token = lead(service)
    page = await (await browser.new_context(viewport=PHONE)).new_page()
    problems = await watch(page, "resident")
    await page.goto(f"{service.url}/callback?lang=sv")
    form = page.locator("#yh-callback")
    phone = form.get_by_label("Telefonnummer")
    await phone.fill("123")
    await form.get_by_label("Postnummer", exact=True).fill("00940")
    await expect(page.locator("#yh-cb-window option")).not_to_have_count(1)
    async with page.expect_response(lambda r: r.request.method == "POST") as info:
        await page.locator("#yh-cb-send").click()
    problem = await (await info.value).json()
    assert problem["field"] == "phone" and problem["code"].startswith("phone."), problem
    error = page.locator("#yh-cb-phone-error")
    await expect(error).to_have_text(SV["callback.error." + problem["code"]])
    await expect(error).to_be_visible()
    assert problem["detail"] not in (await page.locator("body").inner_text())
    await expect(phone).to_have_attribute("aria-invalid", "true")
    await expect(phone).to_have_attribute("aria-describedby", re.compile(r"\byh-cb-phone-error\b"))
    await expect(phone).to_be_focused()
    found = await axe(page, "phone error")

    # Corrected, it goes; the sentence at the field is gone.
    await phone.fill("040 123 4567")
    await page.locator("#yh-cb-send").click()
    await expect(page.locator("#yh-cb-done")).to_be_focused()
    assert len(await callbacks(service, token)) == 1
    assert not found, "\n".join(found)
    # The browser itself logs the refused request (400) as a console error; nothing else.
    assert not [p for p in problems if "status of 400" not in p], "\n".join(problems)


async def test_the_chat_offers_the_same_callback_when_closed(
        service: Service, browser: Browser, watch: Watch) -> None:
    """Outside opening hours the chat's callback view is the same form and request."""
    expect.set_options(timeout=TIMEOUT)
    service.running.system.clock.set(CLOSED_TIME)
    token = lead(service)
    page = await (await browser.new_context(viewport=PHONE)).new_page()
    problems = await watch(page, "resident")
    await page.goto(f"{service.url}/chat?lang=fi")
    await expect(page.locator("#yh-closed-offer")).to_be_visible()
    await page.locator("#yh-start").get_by_label("Postinumero", exact=True).fill("00940")
    await page.locator("#yh-topic").select_option("12")
    await page.locator("#yh-to-callback").click()
    view = page.locator("#yh-callback-view")
    await expect(view).to_be_visible()
    await expect(view.get_by_label("Puhelinnumero")).to_be_focused()
    await expect(view.get_by_label("Postinumero", exact=True)).to_have_value("00940")
    await expect(view.get_by_label("Aihe (vapaaehtoinen)")).to_have_value("12")
    await expect(page.locator("#yh-cb-window-help")).to_have_text(FI["callback.windows.ready"])
    chosen = await choose_window(page, service, "fi")
    found = await axe(page, "chat callback")
    await view.get_by_label("Puhelinnumero").fill("050 765 4321")
    await view.get_by_role("button", name="Lähetä pyyntö").click()
    await expect(page.locator("#yh-cb-done")).to_be_focused()
    await expect(page.locator("#yh-cb-done-text")).to_have_text(re.compile(r"\S"))
    [request] = await callbacks(service, token)
    assert request["language"] == "fi" and request["topic"] == 12
    assert same_window(request["preferred_time"], chosen), (request, chosen)
    assert not found, "\n".join(found)
    assert not problems, "\n".join(problems)
