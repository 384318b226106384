"""The counsellor's side of the phone in a real browser (Debian's chromium): the screen pop
reaches the counsellor whose desk phone rings — and nobody else — within a second; the
callback queue at a phone's width passes axe-core, updates live when a resident asks for a
callback, claims once on a double click, keeps notes being written through a live update,
and after "no answer" shows 1/3 and when to call again; "log a call" finds the resident.
With YHTEYS_SCREENSHOTS set, screenshots of each at 1280 px and 390 px go there."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from inbox.hours import HELSINKI
from inbox.staff import set_desk_phone
from tests.conftest import Service
from tests.e2e.conftest import STAFF_PASSWORD, Watch, staff_login
from tests.e2e.widget_site import axe
from tests.integration.phone_system import PhoneSystem
from tests.integration.test_phone_pages import hanna

pytestmark = pytest.mark.browser

TIMEOUT = 10_000
POP_MS = 1_000  # the screen pop shows within a second
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
OPEN_TIME = datetime(2026, 12, 2, 10, 0, tzinfo=HELSINKI)  # a Wednesday, within 9-15
DESK = "1234"  # Irma's extension
SCREENSHOTS = os.environ.get("YHTEYS_SCREENSHOTS")
DASH = "\N{EN DASH}"  # as the Finnish sentences write it


async def shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


async def counsellor(browser: Browser, service: Service, email: str, watch: Watch,
                     problems: list[str], viewport: ViewportSize = DESKTOP) -> Page:
    page = await (await browser.new_context(viewport=viewport)).new_page()
    problems += await watch(page, f"{email} {viewport['width']}px")
    return await staff_login(page, service.url, email, STAFF_PASSWORD)


async def ask_callback(service: Service, phone: str, text: str = "") -> int:
    status, created = await service.post_json("/api/v1/callbacks", {
        "phone": phone, "postal_code": "00940", "language": "fi", "topic": 2, "text": text})
    assert status == 201 and created, created
    return int(created["id"])


async def test_the_screen_pop_reaches_only_the_counsellor_whose_phone_rings(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    lead = service.add_staff("lead@hel.fi", [], role="lead", password=STAFF_PASSWORD)
    service.add_staff("irma@hel.fi", ["itainen"], password=STAFF_PASSWORD, name="Irma Itäinen")
    service.add_staff("ilkka@hel.fi", ["itainen"], password=STAFF_PASSWORD, name="Ilkka Itä")
    service.running.system.store.run(set_desk_phone, "irma@hel.fi", None, DESK)
    known = await hanna(service, lead)  # Hanna Itä, 040 123 4567, a case in Itäinen
    problems: list[str] = []
    irma = await counsellor(browser, service, "irma@hel.fi", watch, problems)
    ilkka = await counsellor(browser, service, "ilkka@hel.fi", watch, problems)
    phone = PhoneSystem(service)

    # Hanna calls Irma's desk phone: Irma's inbox says who it is, within a second.
    assert await phone.post("newCall", "pop-1", "040 123 4567", DESK) == 200
    alert = irma.get_by_role("alert")
    await expect(alert).to_contain_text(
        f"Saapuva puhelu: Hanna Itä {DASH} asia #{known['case_id']}", timeout=POP_MS)
    link = alert.get_by_role("link", name="Avaa yhteydenotto")
    await expect(link).to_have_attribute("href", re.compile(r"^/contacts/\d+$"))

    # Ilkka's inbox shows nothing: an event for his rooms arrives after the call did, and
    # still his pop is empty.
    await ask_callback(service, "050 111 2222", "Vuokrasta")
    await expect(ilkka.locator("#contacts tbody tr[data-contact-id]")).to_have_count(2)
    await expect(ilkka.locator("#call-pop")).to_be_empty()
    problems += await axe(irma, "inbox with a screen pop")
    await shot(irma, "phone-pop-desktop")

    # Answered: the pop goes away.
    assert await phone.post("answer", "pop-1", "040 123 4567", DESK,
                            answeringNumber=DESK) == 200
    await expect(irma.locator("#call-pop")).to_be_empty()

    # An unknown number rings: every page Irma has open says so (here at a phone's width,
    # on the callback queue), with a way to log the call; ended, it goes away.
    small = await counsellor(browser, service, "irma@hel.fi", watch, problems, PHONE)
    await small.goto(f"{service.url}/callbacks")
    await expect(small.locator("#live-status")).to_have_text("Päivittyy reaaliajassa")
    assert await phone.post("newCall", "pop-2", "050 765 4321", DESK) == 200
    for page in (irma, small):
        await expect(page.get_by_role("alert")).to_contain_text(
            "Saapuva puhelu: tuntematon numero +358507654321", timeout=POP_MS)
    log = small.get_by_role("link", name="Kirjaa tämä puhelu")
    await expect(log).to_have_attribute("href", "/calls/new?phone=%2B358507654321&direction=in")
    problems += await axe(small, "queue with a screen pop, phone width")
    assert await small.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await shot(small, "phone-pop-mobile")
    assert await phone.post("hangup", "pop-2", "050 765 4321", DESK, cause="cancel") == 200
    for page in (irma, small):
        await expect(page.locator("#call-pop")).to_be_empty()

    # The same number again: the missed call made it a (nameless) resident with a case, so
    # the pop names the case now; the counsellor closes the notice herself.
    assert await phone.post("newCall", "pop-3", "050 765 4321", DESK) == 200
    await expect(irma.get_by_role("alert")).to_contain_text(
        re.compile(rf"Saapuva puhelu: \+358507654321 {DASH} asia #\d+"), timeout=POP_MS)
    await irma.get_by_role("button", name="Sulje puheluilmoitus").click()
    await expect(irma.locator("#call-pop")).to_be_empty()
    await expect(ilkka.locator("#call-pop")).to_be_empty()
    assert not problems, "\n".join(problems)


async def test_the_queue_at_phone_width_is_live_claims_once_and_says_when_to_call_again(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    service.running.system.clock.set(OPEN_TIME)
    irma_token = service.add_staff("irma@hel.fi", ["itainen"], password=STAFF_PASSWORD,
                                   name="Irma Itäinen")
    problems: list[str] = []
    page = await counsellor(browser, service, "irma@hel.fi", watch, problems, PHONE)
    await page.get_by_role("link", name="Soittopyynnöt").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Soittopyynnöt")
    await expect(page.locator("#live-status")).to_have_text("Päivittyy reaaliajassa")
    await expect(page.locator("#callbacks")).to_contain_text("Ei avoimia soittopyyntöjä.")
    await page.evaluate("window.__notReloaded = true")
    rows = page.locator("#callbacks tbody tr[data-callback-id]")

    # A resident asks for a callback: the row arrives without a reload, number masked.
    first = await ask_callback(service, "040 111 2222", "Vuokra myöhässä kaksi kuukautta")
    await expect(rows).to_have_count(1)
    row = rows.first
    await expect(row).to_contain_text("040 111••••")
    await expect(row).to_contain_text("Vuokravelka")
    await expect(row).to_contain_text("Vuokra myöhässä kaksi kuukautta")
    await expect(row).to_contain_text("Mahdollisimman pian")
    await expect(row).to_contain_text("0/3")
    await expect(row).to_contain_text("0 min")
    await expect(page.locator("#queue-summary")).to_have_text("1 pyyntö odottaa, 0 otettu")
    assert await page.evaluate("window.__notReloaded") is True
    problems += await axe(page, "queue with a request, phone width")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await shot(page, "callbacks-mobile")

    # A double click on "take the next" claims one request, not two.
    second = await ask_callback(service, "040 333 4444")
    await expect(rows).to_have_count(2)
    await page.locator("#claim-next").dblclick()
    await expect(page).to_have_url(re.compile(rf"/callbacks\?claimed={first}$"))
    items = (await service.get_json("/api/v1/callbacks", irma_token))["items"]
    assert [i["id"] for i in items if i["state"] == "claimed"] == [first], items
    card = page.locator(f"#mine-{first}")
    await expect(card.get_by_role("link", name="040 1112222")).to_have_attribute(
        "href", "tel:+358401112222")
    await expect(page.get_by_role("status").filter(has_text="Otit soittopyynnön")).to_be_focused()

    # Notes half written survive a live update (another request arrives), focus stays.
    notes = card.get_by_label("Muistiinpanot puhelusta")
    await notes.fill("Vastaaja, jätin viestin")
    await ask_callback(service, "040 555 6666")
    await expect(rows).to_have_count(3)
    await expect(notes).to_have_value("Vastaaja, jätin viestin")
    await expect(notes).to_be_focused()
    problems += await axe(page, "queue with a claimed request, phone width")
    await shot(page, "callbacks-claimed-mobile")

    # No answer: back in the queue, 1/3, and not before two hours from now (12.00).
    await card.get_by_role("button", name="Ei vastannut").click()
    await expect(page).to_have_url(re.compile(rf"/callbacks\?done={first}&outcome=retry$"))
    again = page.locator(f'#callbacks tr[data-callback-id="{first}"]')
    await expect(again).to_contain_text("1/3")
    await expect(again).to_contain_text("Aikaisintaan tänään klo 12.00")
    await expect(page.get_by_role("status").filter(has_text="palasi jonoon")).to_contain_text(
        "yritys 1/3")
    await expect(page.locator(f"#mine-{first}")).to_have_count(0)
    items = (await service.get_json("/api/v1/callbacks", irma_token))["items"]
    [retried] = [i for i in items if i["id"] == first]
    assert retried["attempts"] == 1 and retried["state"] == "queued"
    assert second in {i["id"] for i in items}
    problems += await axe(page, "queue after no answer, phone width")

    desktop = await counsellor(browser, service, "irma@hel.fi", watch, problems)
    await desktop.goto(f"{service.url}/callbacks")
    await expect(desktop.locator("#callbacks tbody tr[data-callback-id]")).to_have_count(3)
    problems += await axe(desktop, "queue, desktop")
    await shot(desktop, "callbacks-desktop")

    # Three unanswered tries two hours apart: failed, and the lead sees it with its history.
    service.add_staff("lead@hel.fi", [], role="lead", password=STAFF_PASSWORD, name="Liisa")
    for attempt in range(3):
        service.running.system.clock.set(OPEN_TIME + timedelta(hours=2 * attempt, minutes=1))
        await service.post_json(f"/api/v1/callbacks/{second}/claim", {}, irma_token,
                                status=200)
        await service.post_json(f"/api/v1/callbacks/{second}/attempts", {
            "result": "no_answer", "notes": f"Yritys {attempt + 1}"}, irma_token, status=201)
    lead = await counsellor(browser, service, "lead@hel.fi", watch, problems)
    await lead.goto(f"{service.url}/callbacks")
    failed = lead.locator("#failed-callbacks")
    await expect(failed).to_contain_text(f"Soittopyyntö #{second}: 040 3334444")
    await expect(failed.locator("ol.history li")).to_have_count(3)
    await expect(failed.locator("ol.history li").last).to_contain_text(
        "Ei vastannut · tänään klo 14.01 · Irma Itäinen")
    problems += await axe(lead, "queue of a lead, failed requests")
    await shot(lead, "callbacks-lead-desktop")
    assert not problems, "\n".join(problems)


async def test_log_a_call_from_the_header_finds_the_resident_and_opens_the_contact(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    lead = service.add_staff("lead@hel.fi", [], role="lead", password=STAFF_PASSWORD)
    irma_token = service.add_staff("irma@hel.fi", ["itainen"], password=STAFF_PASSWORD,
                                   name="Irma Itäinen")
    known = await hanna(service, lead)
    # A public request with Hanna's number: only a possible match until someone says so.
    await service.post_json("/api/v1/callbacks", {"phone": "040 123 4567",
                                                  "postal_code": "00940"}, status=201)
    problems: list[str] = []
    for viewport, name in ((PHONE, "mobile"), (DESKTOP, "desktop")):
        page = await counsellor(browser, service, "irma@hel.fi", watch, problems, viewport)
        await page.get_by_role("link", name="Kirjaa puhelu").click()
        await expect(page).to_have_url(re.compile(r"/calls/new$"))
        await expect(page.get_by_role("heading", level=1)).to_have_text("Kirjaa puhelu")
        await expect(page.locator("#recent-calls")).to_contain_text("Soitti vuokrasta")
        problems += await axe(page, f"log a call, {name}")
        await shot(page, f"calls-new-{name}")
    await page.get_by_label("Puhelinnumero").fill("09 310 12345")
    await page.get_by_label("Soitin asukkaalle").check()
    await page.get_by_label("Hae numerolla tai nimellä").fill("hanna")
    await page.get_by_label("Hae numerolla tai nimellä").press("Enter")  # searches only
    await expect(page.locator("#resident-status")).to_have_text("Löytyi 1: valitse alta.")
    await page.get_by_role("radio", name=re.compile(r"Hanna Itä · \+358401234567")).check()
    await page.get_by_label("Muistiinpanot").fill("Soitin takaisin, maksusuunnitelma sovittu")
    await page.get_by_label("Kesto (min)").fill("12")
    problems += await axe(page, "log a call, filled in")
    await page.get_by_role("button", name="Kirjaa puhelu", exact=True).dblclick()
    await expect(page).to_have_url(re.compile(r"/contacts/\d+\?phone_notice=logged$"))
    await expect(page.get_by_role("status").filter(has_text="Puhelu on kirjattu")).to_be_visible()
    contact_id = int(page.url.split("/contacts/")[1].split("?")[0])
    detail = await service.get_json(f"/api/v1/contacts/{contact_id}", irma_token)
    assert detail["resident_id"] == known["resident_id"]
    assert [c["duration_s"] for c in detail["calls"]] == [720]  # one call, not two

    # The public request's possible match, on its contact page.
    items = (await service.get_json("/api/v1/callbacks", irma_token))["items"]
    [request] = [i for i in items if i["source"] == "form"]
    await page.goto(f"{service.url}/contacts/{request['contact_id']}")
    match = page.locator("#possible-match")
    await expect(match).to_contain_text(
        f"Mahdollinen osuma: asukas Hanna Itä, asia #{known['case_id']}")
    problems += await axe(page, "contact page with a possible match")
    await shot(page, "contact-possible-match-desktop")
    await match.get_by_role("button", name="Liitä tämän asukkaan asiaan").click()
    await expect(page.get_by_role("status").filter(has_text="Liitetty")).to_be_visible()
    await expect(match).to_be_empty()
    assert not problems, "\n".join(problems)
