"""The hel.fi widget in a real browser: a host page on another origin embeds /widget.js.

A resident opens it in Swedish, the itainen counsellor sees the chat arrive live and answers,
the browser goes offline and back with two messages typed meanwhile (stored once, shown
once); a site that is not allowed cannot frame it; foreign postMessages are ignored; nothing
is loaded before the click; keyboard open/minimise/close; axe-core finds no WCAG 2.1 A/AA
violation closed, open, in a conversation, offline and on /chat, in fi, sv and en.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from inbox.hours import HELSINKI
from tests.conftest import Service, free_port
from tests.e2e.conftest import Watch, staff_login
from tests.e2e.widget_site import (
    LABELS,
    HostSite,
    axe,
    chat_frame,
    launcher,
    open_widget,
    start_chat,
    widget_frame,
)

pytestmark = pytest.mark.browser

TIMEOUT = 10_000
PASSWORD = "kontula-korttelit-2024"
OPEN_TIME = datetime(2025, 3, 12, 10, 0, tzinfo=HELSINKI)  # a Wednesday, 10.00
CLOSED_TIME = datetime(2025, 3, 15, 10, 0, tzinfo=HELSINKI)  # a Saturday


@pytest.fixture
async def site(service: Service) -> AsyncIterator[HostSite]:
    """hel.fi on its own origin, and the service restarted to allow only that origin."""
    host = HostSite(service.url, port=free_port())
    await service.restart(YHTEYS_WIDGET_ORIGINS=host.origin)
    service.running.system.clock.set(OPEN_TIME)
    await host.start()
    yield host
    await host.stop()


async def login(browser: Browser, service: Service, email: str) -> Page:
    page = await (await browser.new_context()).new_page()
    return await staff_login(page, service.url, email, PASSWORD)


async def test_swedish_resident_counsellor_answers_offline_messages_once(
        service: Service, site: HostSite, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    token = service.add_staff("irma@hel.fi", ["itainen"], password=PASSWORD, name="Irma Itäinen")
    counsellor = await login(browser, service, "irma@hel.fi")
    problems = await watch(counsellor, "counsellor")

    context = await browser.new_context()
    resident = await context.new_page()
    problems += await watch(resident, "resident")
    requests: list[str] = []
    resident.on("request", lambda r: requests.append(r.url))
    await resident.goto(site.origin + "/")
    await expect(launcher(resident, "sv")).to_be_visible()
    # Before the click: the host page, its stylesheet and the loader; no frame, no cookie.
    assert requests == [f"{site.origin}/", f"{site.origin}/host.css",
                        f"{service.url}/widget.js"], requests
    assert await resident.locator("#yhteys-chat-widget iframe").count() == 0
    assert await context.cookies() == []

    await launcher(resident, "sv").click()
    frame = chat_frame(resident)
    await expect(frame.get_by_role("heading", name="Bostadsrådgivningens chatt")).to_be_visible()
    await expect(frame.locator("#yh-availability")).to_have_text(re.compile("^Öppet nu"))
    await expect(frame.locator("#yh-topic")).to_have_value("2")  # data-topic="2"
    question = "Hej! Jag har en hyresskuld på två månader."
    await start_chat(frame, "00940", question, LABELS["sv"])
    await expect(frame.locator("#yh-status")).to_contain_text("i kön")

    row = counsellor.locator("#contacts tbody tr", has_text=question)
    await expect(row).to_be_visible()
    [contact] = await service.wait_contacts(token, 1)
    assert contact["area"] == "itainen" and contact["language"] == "sv"
    answer = "Hej! Vi ringer hyresvärden <b>tillsammans</b>."
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies", {"text": answer},
                            token, status=201)
    reply = frame.locator("#yh-log li[data-sender=counsellor]")
    await expect(reply.locator(".yh-message__text")).to_have_text(answer)
    assert await reply.locator("b").count() == 0, "chat text was rendered as HTML"
    who = frame.locator("#yh-log li[data-sender=resident] .yh-message__who")
    await expect(who).to_have_text("Du")

    # Offline: two messages wait as "sending"; back online they are stored and shown once.
    await context.set_offline(True)
    await expect(frame.locator("#yh-connection")).to_have_text(re.compile("Anslutningen bröts"))
    box = frame.locator("#yh-send").get_by_label("Meddelande")
    for text in ("Första meddelandet offline", "Andra meddelandet offline"):
        await box.fill(text)
        await box.press("Enter")
    sending = frame.locator("#yh-log li.is-sending")
    await expect(sending).to_have_count(2)
    await expect(sending.first.locator(".yh-message__state")).to_have_text("Skickas…")
    await context.set_offline(False)
    await expect(frame.locator("#yh-connection")).to_have_text("Anslutningen är tillbaka.")
    await expect(sending).to_have_count(0)
    texts = frame.locator("#yh-log li[data-sender=resident] .yh-message__text")
    await expect(texts).to_have_text([question, "Första meddelandet offline",
                                      "Andra meddelandet offline"])
    detail = await service.wait_detail(contact["id"], token, lambda d: len(d["messages"]) >= 4)
    stored = [m["text"] for m in detail["messages"]]
    assert stored.count("Första meddelandet offline") == 1, stored
    assert stored.count("Andra meddelandet offline") == 1, stored
    assert stored.count(question) == 1, stored

    # A reload of the host page brings the chat back as it was, each message once.
    await resident.reload()
    await expect(texts).to_have_text([question, "Första meddelandet offline",
                                      "Andra meddelandet offline"])
    await expect(frame.locator("#yh-log li[data-sender=counsellor]")).to_have_count(1)
    assert not problems, "\n".join(problems)


async def test_a_site_that_is_not_allowed_cannot_frame_the_widget(
        service: Service, site: HostSite, browser: Browser) -> None:
    expect.set_options(timeout=TIMEOUT)
    other = await HostSite(service.url, port=free_port(), lang="fi").start()
    try:
        page = await (await browser.new_context()).new_page()
        refused: list[str] = []
        page.on("console", lambda m: refused.append(m.text) if "ancestor" in m.text else None)
        await page.goto(other.origin + "/")
        async with page.expect_console_message(lambda m: "frame-ancestors" in m.text):
            await launcher(page, "fi").click()
        await expect(page.locator("#yhteys-chat-widget iframe")).to_have_count(1)
        assert await chat_frame(page).locator("form").count() == 0
        for frame in page.frames:  # the refused frame holds an error page, never the chat
            if "/widget?" in frame.url:
                assert await frame.evaluate("document.getElementById('yh-chat') === null")
        assert refused
    finally:
        await other.stop()


async def test_foreign_messages_are_ignored_and_the_keyboard_works(
        service: Service, site: HostSite, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    evil = await HostSite(service.url, port=free_port()).start()
    site.extra = f'<iframe src="{evil.origin}/poster" title="Mainos"></iframe>'
    try:
        page = await (await browser.new_context()).new_page()
        problems = await watch(page, "resident")
        await page.goto(site.origin + "/")
        # Keyboard: Tab reaches the launcher, Enter opens, the first field gets the focus.
        button = launcher(page, "sv")
        await button.focus()
        await page.keyboard.press("Enter")
        frame = chat_frame(page)
        await expect(frame.locator("#yh-topic")).to_be_focused()
        await expect(button).to_be_hidden()

        # A foreign frame posts "open" to a frame of the widget and "close" to the host page;
        # the widget's own origin posts "close" from a frame that is not the loader's. The
        # loader and the frame both ignore them.
        await page.evaluate("""(src) => { const f = document.createElement("iframe");
            f.src = src; f.title = "toinen"; document.body.append(f); }""",
                            f"{service.url}/widget?lang=fi&host={site.origin}")
        plain = page.frame_locator("body > iframe[title=toinen]")
        await expect(plain.locator("#yh-start")).to_be_visible()
        probe = ("window.__got = []; addEventListener('message', e => "
                 "window.__got.push(e.origin))")
        target = next(f for f in page.frames if "lang=fi" in f.url)
        await target.evaluate(probe)
        await page.evaluate(probe)
        await plain.get_by_role("link", name="Svenska").focus()
        poster = next(f for f in page.frames if f.url.startswith(evil.origin))
        await poster.evaluate("window.postMessage('go', '*')")
        await target.wait_for_function("window.__got.length > 0")
        await page.wait_for_function(f"window.__got.includes({evil.origin!r})")
        await target.evaluate("parent.postMessage({type: 'yhteys:close'}, '*')")
        await page.wait_for_function(f"window.__got.includes({service.url!r})")
        assert await target.evaluate("window.__got") == [evil.origin]
        await expect(plain.get_by_role("link", name="Svenska")).to_be_focused()
        await expect(page.locator("#yhteys-chat-widget .panel")).to_be_visible()
        await expect(page.locator("#yhteys-chat-widget iframe")).to_have_count(1)
        await frame.locator("#yh-topic").focus()

        # Escape minimises and gives the focus back to the launcher; Enter opens again.
        await page.keyboard.press("Escape")
        await expect(page.locator("#yhteys-chat-widget .panel")).to_be_hidden()
        await expect(button).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(frame.locator("#yh-topic")).to_be_focused()

        # Minimised state survives a reload of the host page; close removes the frame.
        await page.keyboard.press("Escape")
        await expect(button).to_be_focused()
        await page.reload()
        await expect(button).to_be_visible()
        await expect(page.locator("#yhteys-chat-widget iframe")).to_have_count(1)
        await expect(page.locator("#yhteys-chat-widget .panel")).to_be_hidden()
        await button.click()
        await chat_frame(page).get_by_role("button", name="Stäng chatten").click()
        await expect(page.locator("#yhteys-chat-widget iframe")).to_have_count(0)
        await expect(button).to_be_focused()
        assert not problems, "\n".join(problems)
    finally:
        await evil.stop()


async def test_unread_count_while_minimised(
        service: Service, site: HostSite, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    token = service.add_staff("irma@hel.fi", ["itainen"], password=PASSWORD, name="Irma Itäinen")
    page = await (await browser.new_context()).new_page()
    problems = await watch(page, "resident")
    frame = await open_widget(page, site)
    await start_chat(frame, "00940", "Hej, en fråga om hyran.", LABELS["sv"])
    [contact] = await service.wait_contacts(token, 1)
    await frame.get_by_role("button", name="Minimera chatten").click()
    button = launcher(page, "sv")
    await expect(button).to_be_focused()
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies", {"text": "Hej!"},
                            token, status=201)
    await expect(page.get_by_role("button", name=re.compile("1 nya meddelanden"))).to_be_visible()
    await button.click()
    await expect(frame.locator("#yh-log li[data-sender=counsellor]")).to_have_count(1)
    await expect(frame.locator("#yh-text")).to_be_focused()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_axe_finds_no_wcag_violations(
        service: Service, site: HostSite, browser: Browser, lang: str) -> None:
    expect.set_options(timeout=TIMEOUT)
    site.lang = lang
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(site.origin + "/")
    await expect(launcher(page, lang)).to_be_visible()
    found = await axe(page, "closed")
    frame = await open_widget(page, site)
    widget = widget_frame(page)
    await expect(frame.locator("html")).to_have_attribute("lang", lang)
    await expect(frame.locator("#yh-availability")).not_to_have_text(re.compile("…$"))
    found += await axe(widget, "pre-chat")
    await frame.locator("#yh-start-button").click()  # empty form: errors next to the fields
    await expect(frame.locator("#yh-first[aria-invalid=true]")).to_be_visible()
    found += await axe(widget, "errors")
    await start_chat(frame, "00940", "Axe test", LABELS[lang])
    found += await axe(widget, "conversation")
    await context.set_offline(True)
    await expect(frame.locator("#yh-connection")).not_to_be_empty()
    found += await axe(widget, "offline")
    await context.set_offline(False)

    service.running.system.clock.set(CLOSED_TIME)
    closed = await (await browser.new_context()).new_page()
    frame = await open_widget(closed, site)
    await expect(frame.locator("#yh-closed-offer")).to_be_visible()
    found += await axe(widget_frame(closed), "closed hours")
    await frame.locator("#yh-to-callback").click()
    found += await axe(widget_frame(closed), "callback")

    chat = await (await browser.new_context()).new_page()
    await chat.goto(f"{service.url}/chat?lang={lang}")
    await expect(chat.locator("html")).to_have_attribute("lang", lang)
    await expect(chat.locator("#yh-availability")).not_to_have_text(re.compile("…$"))
    found += await axe(chat, "/chat")
    assert not found, "\n".join(found)


async def test_resident_downloads_the_transcript_and_ends_the_chat(
        service: Service, site: HostSite, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    page = await (await browser.new_context(accept_downloads=True)).new_page()
    problems = await watch(page, "resident")
    frame = await open_widget(page, site)
    await start_chat(frame, "00940", "Hej <i>där</i>, en fråga.", LABELS["sv"])
    async with page.expect_download() as info:
        await frame.get_by_role("button", name="Ladda ner samtalet").click()
    download = await info.value
    assert download.suggested_filename.endswith(".txt")
    text = Path(await download.path()).read_text("utf-8")
    assert "Bostadsrådgivningens chatt" in text and "Hej <i>där</i>, en fråga." in text
    await frame.get_by_role("button", name="Avsluta chatten").click()
    await frame.get_by_role("button", name="Nej, fortsätt").click()
    await expect(frame.locator("#yh-send")).to_be_visible()
    await frame.get_by_role("button", name="Avsluta chatten").click()
    await frame.get_by_role("button", name="Ja, avsluta chatten").click()
    await expect(frame.locator("#yh-status")).to_have_text("Du avslutade chatten.")
    await expect(frame.locator("#yh-send")).to_be_hidden()
    await expect(frame.get_by_role("button", name="Starta en ny chatt")).to_be_focused()
    assert not problems, "\n".join(problems)


async def test_axe_reports_a_real_violation(browser: Browser) -> None:
    """The axe helper is not vacuous: an image without alt text is found."""
    page = await browser.new_page()
    await page.set_content('<!doctype html><html lang="fi"><title>t</title><main>'
                           '<img src="data:,"></main></html>')
    assert any("image-alt" in v for v in await axe(page, "probe"))
