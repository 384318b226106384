"""The case page in a real browser (Debian's chromium): a counsellor opens a case from a
contact, records a process step and a follow-up, sees a refused form answered at its field,
closes another case with an outcome, and is told on her start page when the timer raises a
follow-up due today; axe-core finds no WCAG 2.1 A/AA violation on the case page with every
form open, at 1280 px and at a phone's 390 px (which never scrolls sideways). With
YHTEYS_SCREENSHOTS set, screenshots go there (Finnish and Swedish, both widths)."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from inbox.followups import raise_due
from inbox.hours import HELSINKI
from tests.conftest import Service
from tests.e2e.conftest import STAFF_PASSWORD, Watch, staff_login
from tests.e2e.widget_site import axe
from tests.integration.test_email import mail, send

pytestmark = pytest.mark.browser

TIMEOUT = 10_000
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=HELSINKI)  # a Wednesday
SCREENSHOTS = os.environ.get("YHTEYS_SCREENSHOTS")


async def shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


async def counsellor(browser: Browser, service: Service, watch: Watch, problems: list[str],
                     viewport: ViewportSize = DESKTOP) -> Page:
    page = await (await browser.new_context(viewport=viewport)).new_page()
    problems += await watch(page, f"irma {viewport['width']}px")
    return await staff_login(page, service.url, "irma@hel.fi", STAFF_PASSWORD)


async def open_every_form(page: Page) -> None:
    await page.evaluate("document.querySelectorAll('details.case-form')"
                        ".forEach((d) => { d.open = true; })")


async def test_a_counsellor_works_a_case_from_a_contact_and_closes_another(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    service.running.system.clock.set(NOW)
    service.add_staff("irma@hel.fi", ["itainen"], password=STAFF_PASSWORD, name="Irma Itäinen")
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await send(service, mail("Vuokra on rästissä ja häätö uhkaa, 00940 Helsinki",
                             sender="Hanna Itä <hanna@example.com>"), sender="hanna@example.com")
    await send(service, mail("Naapuri häiritsee, 00930 Helsinki", message_id="<m2@example.com>",
                             sender="Pekka Puu <pekka@example.com>"), sender="pekka@example.com")
    contacts = await service.wait_contacts(lead, 2)
    hanna = next(c for c in contacts if c["resident"]["name"] == "Hanna Itä")
    pekka = next(c for c in contacts if c["resident"]["name"] == "Pekka Puu")
    problems: list[str] = []
    irma = await counsellor(browser, service, watch, problems)

    # From the inbox to the contact, and from there to its case.
    await irma.locator(f'tr[data-contact-id="{hanna["id"]}"] a').click()
    await expect(irma).to_have_url(re.compile(rf"/contacts/{hanna['id']}$"))
    await irma.get_by_role("link", name=f"Asia #{hanna['case_id']}").click()
    await expect(irma).to_have_url(re.compile(rf"/cases/{hanna['case_id']}$"))
    await expect(irma.get_by_role("heading", level=1)).to_contain_text("Hanna Itä")

    # A process step, with its date.
    await irma.get_by_text("Vuokravelkaprosessin vaihe", exact=True).click()
    await irma.get_by_label("Vaihe", exact=True).select_option("1")
    await irma.locator("#step-at").fill("2026-12-01")
    await irma.get_by_role("button", name="Kirjaa vaihe").click()
    await expect(irma.get_by_role("status").filter(has_text="Vaihe on kirjattu.")).to_be_visible()
    timeline = irma.locator("#timeline")
    await expect(timeline.locator("li.tl--step")).to_contain_text(
        "1. Vuokravelkatilanteen selvittely")
    await expect(timeline.locator("li.tl--step")).to_contain_text("Irma Itäinen")

    # A follow-up too far away is refused at its field, focused; then one today.
    await irma.get_by_text("Suunnittele seuranta tai väliarviointi", exact=True).click()
    await irma.locator("#follow_up-due").fill("2029-01-01")
    await irma.get_by_label("Laji", exact=True).select_option("interim_evaluation")
    await irma.get_by_label("Mitä tarkistetaan").fill("Maksusopimuksen pitävyys")
    await irma.get_by_role("button", name="Suunnittele", exact=True).click()
    due = irma.locator("#follow_up-due")
    await expect(due).to_have_attribute("aria-invalid", "true")
    await expect(due).to_be_focused()
    await expect(irma.locator("#follow_up-due-error")).to_contain_text("24 kuukauden")
    await expect(irma.get_by_label("Mitä tarkistetaan")).to_have_value(
        "Maksusopimuksen pitävyys")
    problems += await axe(irma, "case page, a refused form")
    await due.fill("2026-12-02")
    await irma.get_by_role("button", name="Suunnittele", exact=True).click()
    await expect(irma.get_by_role("status").filter(has_text="Seuranta on suunniteltu.")
                 ).to_be_visible()
    await expect(irma.locator("#follow-ups")).to_contain_text("Väliarviointi")
    await expect(irma.locator("#follow-ups")).to_contain_text("2.12.2026")

    await open_every_form(irma)
    problems += await axe(irma, "case page, 1280 px, every form open")
    await shot(irma, "case-desktop-fi")
    await irma.goto(f"{service.url}/cases/{hanna['case_id']}?lang=sv")
    await expect(irma.locator("#timeline")).to_contain_text("Utredning av hyresskuldsituationen")
    await open_every_form(irma)
    problems += await axe(irma, "case page in Swedish")
    await shot(irma, "case-desktop-sv")

    # At a phone's width: no sideways scrolling, nothing axe objects to.
    small = await counsellor(browser, service, watch, problems, PHONE)
    await small.goto(f"{service.url}/cases/{hanna['case_id']}")
    await open_every_form(small)
    problems += await axe(small, "case page, 390 px, every form open")
    assert await small.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await shot(small, "case-phone-fi")
    await small.goto(f"{service.url}/cases/{hanna['case_id']}?lang=sv")
    assert await small.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await shot(small, "case-phone-sv")

    # The timer raises today's follow-up: her start page says so, with a link to the case.
    await irma.goto(f"{service.url}/inbox")
    await expect(irma.locator("#live-status")).to_have_text("Päivittyy reaaliajassa")
    box = irma.locator("#follow-ups-box")
    await expect(box).to_contain_text(f"Asia #{hanna['case_id']}: Hanna Itä")
    system = service.running.system
    assert system.store.run(raise_due, NOW.date(), NOW, system.case_vocabulary) == 1
    notice = irma.locator("#followup-notices")
    await expect(notice).to_contain_text(
        f"Asian #{hanna['case_id']} väliarviointi on tänään.")
    await expect(notice.get_by_role("link", name="Avaa asia")).to_have_attribute(
        "href", f"/cases/{hanna['case_id']}")
    problems += await axe(irma, "inbox with follow-ups")
    await shot(irma, "inbox-follow-ups")

    # Another case closed with an outcome of the logic model.
    await irma.goto(f"{service.url}/cases/{pekka['case_id']}")
    await irma.locator("summary", has_text="Sulje asia").click()
    await irma.get_by_label("Tulos", exact=True).select_option("service_received")
    await irma.get_by_label("Päättämisen muistiinpano").fill("Neuvottu, ei jatkoa")
    await irma.get_by_role("button", name="Sulje asia").click()
    await expect(irma.get_by_role("status").filter(has_text="Asia on suljettu.")).to_be_visible()
    await expect(irma.locator(".case-closed")).to_contain_text("Asiakas sai palvelun")
    await expect(irma.locator("details.case-form")).to_have_count(0)
    problems += await axe(irma, "a closed case")
    await shot(irma, "case-closed")
    closed = await service.get_json(f"/api/v1/cases/{pekka['case_id']}", lead)
    assert closed["status"] == "closed" and closed["outcome"] == "service_received"
    assert not problems, "\n".join(problems)
