"""The inbox in a real browser (Debian's chromium): a mail sent over SMTP appears as one
patched row without a reload (one row request, one use-log row, never the whole page), the
tab title counts it, a desktop notification and a tone say it (an urgent one stays until
dismissed, and its row stands out), the keys move, open, reply, take and close, the help
lists them; axe-core finds no WCAG 2.1 A/AA violation in fi, sv and en at 1280 px and at a
phone's 390 px (which never scrolls sideways). With YHTEYS_SCREENSHOTS set, screenshots go
there."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Request, ViewportSize, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import AccessLog
from tests.conftest import Service
from tests.e2e.conftest import STAFF_PASSWORD, Watch, staff_login
from tests.e2e.widget_site import axe
from tests.integration.test_email import mail, send

pytestmark = pytest.mark.browser

TIMEOUT = 10_000
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
SCREENSHOTS = os.environ.get("YHTEYS_SCREENSHOTS")
DASH = "\u2013"  # the en dash of "1 to 3 of 3" (ruff would read it as a hyphen)
URGENT = "Vuokranantaja irtisanoi, häätö ensi viikolla, kaksi lasta. Asun 00940 Helsinki."

# Records what the page shows as desktop notifications and the tones it plays; the real
# ones are still made (the browser has the permission, or asks on a click).
RECORDER = """
window.__notices = [];
window.__asked = 0;
window.__tones = 0;
const RealNotification = window.Notification;
class RecordedNotification extends RealNotification {
  constructor(title, options) {
    window.__notices.push({ title: title, ...(options || {}) });
    super(title, options);
  }
}
Object.defineProperty(RecordedNotification, "permission",
                      { get: () => RealNotification.permission });
RecordedNotification.requestPermission = function () {
  window.__asked += 1;
  return RealNotification.requestPermission();
};
window.Notification = RecordedNotification;
const realOscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  window.__tones += 1;
  return realOscillator.call(this);
};
"""


async def shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def reads(session: Session, view: str) -> int:
    return session.scalar(select(func.count()).select_from(AccessLog)
                          .where(AccessLog.view == view)) or 0


async def context(browser: Browser, service: Service, viewport: ViewportSize = DESKTOP,
                  notifications: bool = True) -> BrowserContext:
    ctx = await browser.new_context(viewport=viewport, locale="fi-FI")
    if notifications:
        await ctx.grant_permissions(["notifications"], origin=service.url)
    await ctx.add_init_script(RECORDER)
    return ctx


async def irma_inbox(browser: Browser, service: Service, watch: Watch, problems: list[str],
                     viewport: ViewportSize = DESKTOP, notifications: bool = True) -> Page:
    page = await (await context(browser, service, viewport, notifications)).new_page()
    problems += await watch(page, f"irma {viewport['width']}px")
    await staff_login(page, service.url, "irma@hel.fi", STAFF_PASSWORD)
    return page


async def two_contacts(service: Service) -> list[dict]:
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await send(service, mail("Kysyisin asumistuesta, 00940 Helsinki", subject="Asumistuki",
                             sender="Hanna Itä <hanna@example.com>", message_id="<h@example.com>"),
               sender="hanna@example.com")
    await send(service, mail("Naapuri häiritsee öisin, 00930 Helsinki", subject="Häiriö",
                             sender="Pekka Puu <pekka@example.com>", message_id="<p@example.com>"),
               sender="pekka@example.com")
    return await service.wait_contacts(lead, 2)


async def test_a_mail_becomes_one_patched_row_counted_in_the_title_and_on_the_desktop(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    service.add_staff("irma@hel.fi", ["itainen"], password=STAFF_PASSWORD, name="Irma Itäinen")
    existing = await two_contacts(service)
    problems: list[str] = []
    page = await irma_inbox(browser, service, watch, problems)
    rows = page.locator("#contacts tbody tr[data-contact-id]")
    await expect(rows).to_have_count(2)
    await expect(page.locator("#notify-state")).to_have_text("Työpöytäilmoitukset ovat käytössä")
    sound = page.get_by_role("button", name="Äänimerkki uusista yhteydenotoista")
    await sound.click()
    await expect(sound).to_have_attribute("aria-pressed", "true")
    await page.wait_for_load_state("networkidle")  # the first connect's count check is done
    await page.evaluate("window.__yhteysNoReload = true; window.__tones = 0")
    title = await page.title()
    assert title.startswith("Saapuneet") and not title.startswith("(")

    requests: list[str] = []

    def on_request(request: Request) -> None:
        if request.resource_type in ("fetch", "xhr", "document"):
            requests.append(f"{request.method} {request.url.removeprefix(service.url)}")

    page.on("request", on_request)
    store = service.running.system.store
    before = (store.run(reads, "page.inbox"), store.run(reads, "page.inbox.row"))

    # A resident writes over SMTP: an eviction next week, in Irma's area.
    await send(service, mail(URGENT, subject="Häätö uhkaa", message_id="<u@example.com>",
                             sender="Kaisa Kiire <kaisa@example.com>"), sender="kaisa@example.com")
    new = rows.filter(has_text="Häätö uhkaa")
    await expect(new).to_be_visible()
    await expect(rows).to_have_count(3)
    await expect(rows.first).to_contain_text("Häätö uhkaa")  # urgent first
    await expect(new).to_have_class(re.compile(r"\burgency-urgent\b"))
    await expect(new).to_contain_text("Erittäin kiireellinen")
    await expect(new).to_contain_text("Uusi")
    await expect(page).to_have_title(re.compile(r"^\(1\) Saapuneet"))
    await expect(page.locator("#inbox-announce")).to_contain_text(
        "Kiireellinen yhteydenotto saapui")
    await expect(page.locator('.tab-count[data-folder="areas"]')).to_have_text("3")
    await expect(page.locator("#inbox-summary")).to_have_text(f"1{DASH}3 / 3")
    new_id = int(await new.get_attribute("data-contact-id") or 0)

    await page.wait_for_function("window.__notices.length >= 1")
    [notice] = await page.evaluate("window.__notices")
    assert notice["title"] == "Kiireellinen: uusi yhteydenotto", notice
    assert notice["requireInteraction"] is True
    assert notice["body"] == f"Sähköposti · Itäinen · yhteydenotto #{new_id}"
    assert "Kaisa" not in str(notice) and "häätö" not in str(notice).lower()
    assert await page.evaluate("window.__tones") == 2  # an urgent one: two tones

    await page.wait_for_load_state("networkidle")
    assert requests == [f"GET /inbox/rows/{new_id}"], requests
    assert store.run(reads, "page.inbox") == before[0]
    assert store.run(reads, "page.inbox.row") == before[1] + 1

    # Someone closes another row: it changes in place, one request again.
    pekka = next(c for c in existing if c["resident"]["name"] == "Pekka Puu")
    await service.post_json(f"/api/v1/contacts/{pekka['id']}/close", {},
                            service.tokens["lead@hel.fi"], status=200)
    closed = page.locator(f'#contacts tr[data-contact-id="{pekka["id"]}"]')
    await expect(closed).to_contain_text("Suljettu")
    await expect(rows.last).to_have_attribute("data-contact-id", str(pekka["id"]))
    await expect(page.locator('.tab-count[data-folder="areas"]')).to_have_text("2")
    await page.wait_for_load_state("networkidle")
    assert requests == [f"GET /inbox/rows/{new_id}", f"GET /inbox/rows/{pekka['id']}"]
    assert store.run(reads, "page.inbox") == before[0]
    assert await page.evaluate("window.__yhteysNoReload === true"), "the inbox was reloaded"
    await shot(page, "inbox-live-fi")

    # Looking at the new row clears the count; its mark goes when she moves on.
    await page.keyboard.press("j")
    await expect(rows.first).to_be_focused()
    await expect(page).to_have_title(re.compile(r"^Saapuneet"))
    await expect(new).to_contain_text("Uusi")
    await page.keyboard.press("j")
    await expect(new).not_to_contain_text("Uusi")

    # The sound is remembered.
    await page.reload()
    await expect(page.get_by_role("button", name="Äänimerkki uusista yhteydenotoista")
                 ).to_have_attribute("aria-pressed", "true")
    assert not problems, "\n".join(problems)


async def test_keys_move_open_reply_take_and_close_and_the_help_lists_them(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    service.add_staff("irma@hel.fi", ["itainen"], password=STAFF_PASSWORD, name="Irma Itäinen")
    await two_contacts(service)
    # One in the city-wide pool: no postal code, nobody's yet.
    await send(service, mail("Tarvitsen neuvoa vuokrasopimuksesta", subject="Neuvoa",
                             sender="Ossi Osoitteeton <ossi@example.com>",
                             message_id="<o@example.com>"), sender="ossi@example.com")
    await service.wait_contacts(service.tokens["lead@hel.fi"], 3)
    problems: list[str] = []
    page = await irma_inbox(browser, service, watch, problems, notifications=False)
    rows = page.locator("#contacts tbody tr[data-contact-id]")
    await expect(rows).to_have_count(3)

    # Asking for desktop notifications happens on a click only, and the page says the answer.
    allow = page.get_by_role("button", name="Salli työpöytäilmoitukset")
    assert await page.evaluate("Notification.permission") == "default"
    assert await page.evaluate("window.__asked") == 0
    await allow.click()
    await page.wait_for_function("window.__asked === 1")
    answer = await page.evaluate("Notification.permission")
    # Headless Chromium dismisses the question: the answer stays "default", the button too.
    # (A context that has granted it is the notification test's.)
    assert answer == "default"
    await expect(allow).to_be_visible()

    await page.keyboard.press("j")
    await expect(rows.nth(0)).to_be_focused()
    await page.keyboard.press("j")
    await expect(rows.nth(1)).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(rows.nth(2)).to_be_focused()
    await page.keyboard.press("k")
    await expect(rows.nth(1)).to_be_focused()
    await page.keyboard.press("ArrowUp")
    await expect(rows.nth(0)).to_be_focused()
    assert await rows.nth(0).get_attribute("tabindex") == "0"
    assert await rows.nth(1).get_attribute("tabindex") == "-1"
    outline = await rows.nth(0).evaluate("(r) => getComputedStyle(r).outlineStyle")
    assert outline == "solid", "the current row shows the focus"

    # The help: every shortcut, Esc closes it, the focus comes back.
    await page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Pikanäppäimet")
    await expect(help_dialog).to_be_visible()
    for text in ("Seuraava yhteydenotto", "Avaa yhteydenotto ja vastaa", "Ota yhteydenotto",
                 "Sulje yhteydenotto", "Hae"):
        await expect(help_dialog).to_contain_text(text)
    problems += await axe(page, "inbox, the shortcuts' help open")
    await shot(page, "inbox-help-fi")
    await page.keyboard.press("Escape")
    await expect(help_dialog).to_be_hidden()
    await expect(rows.nth(0)).to_be_focused()

    # "/" goes to the search; letters typed there are text, not shortcuts.
    await page.keyboard.press("/")
    search = page.get_by_label("Hae", exact=True)
    await expect(search).to_be_focused()
    await page.keyboard.type("jk")
    await expect(search).to_have_value("jk")
    await expect(search).to_be_focused()
    await search.fill("")

    # Take the pool's contact, then close it; the row shows each change.
    pool = rows.filter(has_text="Neuvoa")
    await expect(pool).to_contain_text("Ei jaettu")
    await pool.focus()
    await page.keyboard.press("t")
    await expect(pool).to_contain_text("Irma Itäinen")
    await expect(page.locator("#inbox-announce")).to_contain_text("Otit yhteydenoton")
    await page.keyboard.press("Control+c")  # with a modifier: not a shortcut
    await page.keyboard.press("c")
    await expect(pool).to_contain_text("Suljettu")
    await expect(rows.last).to_contain_text("Neuvoa")  # closed ones after the open

    # Enter opens; r opens with the reply box ready.
    first = rows.nth(0)
    contact_id = await first.get_attribute("data-contact-id")
    await first.focus()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(rf"/contacts/{contact_id}$"))
    await page.go_back()
    await expect(rows).to_have_count(3)
    await rows.nth(0).focus()
    await page.keyboard.press("r")
    await expect(page).to_have_url(re.compile(rf"/contacts/{contact_id}#reply$"))
    await expect(page.locator("#reply-text")).to_be_focused()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_the_inbox_passes_axe_in_each_language_at_both_widths(
        service: Service, browser: Browser, watch: Watch, lang: str) -> None:
    expect.set_options(timeout=TIMEOUT)
    service.add_staff("irma@hel.fi", ["itainen"], password=STAFF_PASSWORD, name="Irma Itäinen")
    await two_contacts(service)
    await send(service, mail(URGENT, subject="Häätö uhkaa", message_id="<u@example.com>",
                             sender="Kaisa Kiire <kaisa@example.com>"), sender="kaisa@example.com")
    await service.wait_contacts(service.tokens["lead@hel.fi"], 3)
    problems: list[str] = []
    heading = {"fi": "Saapuneet yhteydenotot", "sv": "Inkomna kontakter",
               "en": "Incoming contacts"}[lang]
    for viewport in (DESKTOP, PHONE):
        page = await irma_inbox(browser, service, watch, problems, viewport)
        await page.goto(f"{service.url}/inbox?lang={lang}")
        await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        await expect(page.locator("#contacts tbody tr[data-contact-id]")).to_have_count(3)
        await expect(page.locator("#live-status")).to_have_class(re.compile(r"\bis-live\b"))
        problems += await axe(page, f"inbox {lang} {viewport['width']}px")
        await shot(page, f"inbox-{lang}-{viewport['width']}")
        assert await page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        empty = f"{service.url}/inbox?lang={lang}&q=zzzz"
        await page.goto(empty)
        await expect(page.locator("#contacts tr.empty")).to_be_visible()
        problems += await axe(page, f"inbox {lang} {viewport['width']}px, nothing found")
        if viewport is PHONE:
            await shot(page, f"inbox-empty-{lang}-{viewport['width']}")
        await page.context.close()
    assert not problems, "\n".join(problems)
