"""A resident's chat reaches the area counsellor's live inbox and the answer comes back live,
in a real browser (Debian's chromium), with no console errors and no CSP violations."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.async_api import Browser, Page, expect

from inbox.hours import HELSINKI
from tests.conftest import Service
from tests.e2e.conftest import Watch, enter_code

pytestmark = pytest.mark.browser

TIMEOUT = 10_000  # ms, for every wait on something the server pushes
PASSWORD = "kontula-korttelit-2024"
QUESTION = "Vuokra on kaksi kuukautta maksamatta, mitä teen?"
ANSWER = "Hei Aino! Soitetaan vuokranantajalle yhdessä <b>huomenna</b>."


async def mark(page: Page) -> None:
    """Marks the loaded document; the mark survives only if the page is never reloaded."""
    await page.evaluate("window.__yhteysNoReload = true")


async def not_reloaded(page: Page) -> bool:
    return bool(await page.evaluate("window.__yhteysNoReload === true"))


async def start_chat(page: Page, service: Service, text: str) -> None:
    # Within opening hours whatever the hour of the run (after 15.00 the form changes).
    service.running.system.clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=HELSINKI))
    await page.goto(f"{service.url}/chat?lang=fi")
    form = page.locator("#yh-start")
    await form.get_by_label("Postinumero", exact=True).fill("00940")
    await form.get_by_label("Nimi").fill("Aino")
    await form.get_by_label("Miten voimme auttaa?").fill(text)
    await form.get_by_role("button", name="Aloita chat").click()
    mine = page.locator("#yh-log li[data-sender=resident]:not(.is-sending) .yh-message__text")
    await expect(mine).to_have_text(text)
    await expect(page.locator("#yh-send")).to_be_visible()


async def test_chat_reaches_counsellor_live_and_answer_comes_back_live(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    token = service.add_staff("irma@hel.fi", ["itainen"], password=PASSWORD,
                              name="Irma Itäinen")
    service.add_staff("ella@hel.fi", ["etelainen"], password=None, name="Ella Eteläinen")

    # The counsellor logs in through the form and waits on her inbox, live.
    counsellor = await (await browser.new_context()).new_page()
    problems = await watch(counsellor, "counsellor")
    await counsellor.goto(f"{service.url}/login?next=/inbox")
    await counsellor.get_by_label("Sähköposti").fill("irma@hel.fi")
    await counsellor.get_by_label("Salasana").fill(PASSWORD)
    await counsellor.get_by_role("button", name="Kirjaudu", exact=True).click()
    await enter_code(counsellor, service.url, "irma@hel.fi")  # the second factor
    await expect(counsellor).to_have_url(re.compile(r"/inbox$"))
    await expect(counsellor.locator("#live-status")).to_have_text("Päivittyy reaaliajassa")
    await mark(counsellor)

    # Only now does the resident start a chat, in a context of their own.
    resident = await (await browser.new_context()).new_page()
    problems += await watch(resident, "resident")
    await start_chat(resident, service, QUESTION)
    await mark(resident)

    # The new row appears in the open inbox without a reload.
    row = counsellor.locator("#contacts tbody tr", has_text=QUESTION)
    await expect(row).to_be_visible()
    await expect(row).to_contain_text("Irma Itäinen")
    assert await not_reloaded(counsellor), "the inbox page was reloaded"

    # The contact: assigned to her, routed because of the postal code.
    await row.get_by_role("link").first.click()
    await expect(counsellor).to_have_url(re.compile(r"/contacts/\d+$"))
    await expect(counsellor.locator("#assignee")).to_have_text("Irma Itäinen")
    await expect(counsellor.locator("#routing")).to_contain_text("00940")
    await expect(counsellor.locator("#messages")).to_contain_text(QUESTION)
    [contact] = await service.wait_contacts(token, 1)
    assert contact["assignee"]["email"] == "irma@hel.fi"
    assert contact["area"] == "itainen"

    # She answers; the answer is stored and shown back on her page.
    await counsellor.get_by_label(re.compile("^Vastaus")).fill(ANSWER)
    await counsellor.get_by_role("button", name="Lähetä vastaus").click()
    await expect(counsellor.locator("#messages li", has_text=ANSWER)).to_be_visible()

    # The resident sees it as the counsellor's message, as plain text, without a reload.
    answer = resident.locator("#yh-log li[data-sender=counsellor]")
    await expect(answer).to_have_count(1)
    await expect(answer.locator(".yh-message__text")).to_have_text(ANSWER)
    await expect(answer).to_contain_text("Irma")
    assert await answer.locator("b").count() == 0, "chat text was rendered as HTML"
    assert await not_reloaded(resident), "the chat page was reloaded"

    assert not problems, "\n".join(problems)


async def test_chat_page_reload_resumes_the_conversation_once(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    resident = await (await browser.new_context()).new_page()
    problems = await watch(resident, "resident")
    await start_chat(resident, service, "Ensimmäinen <i>viesti</i>")
    await resident.locator("#yh-send").get_by_label("Viesti").fill("Toinen viesti")
    await resident.keyboard.press("Enter")  # Enter sends, Shift+Enter would add a line
    log = resident.locator("#yh-log li:not(.is-sending) .yh-message__text")
    await expect(log).to_have_text(["Ensimmäinen <i>viesti</i>", "Toinen viesti"])

    await resident.reload()  # the token in sessionStorage resumes the same conversation
    await expect(resident.locator("#yh-send")).to_be_visible()
    await expect(log).to_have_text(["Ensimmäinen <i>viesti</i>", "Toinen viesti"])
    assert await resident.locator("#yh-log i").count() == 0, "chat text was rendered as HTML"
    assert not problems, "\n".join(problems)
