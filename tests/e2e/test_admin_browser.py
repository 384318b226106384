"""The admin's staff accounts page in Chromium: in fi, sv and en at 1280 px and 390 px the
table of accounts is there, axe-core finds no WCAG 2.1 A/AA violation, and the page never
scrolls sideways (the table scrolls inside its focusable frame); the admin disables a
counsellor through the form, the page says so, and the counsellor's open page sends them to
the login at once. With YHTEYS_SCREENSHOTS set, screenshots go
there."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from inbox.staff import mark_demo, set_disabled
from tests.conftest import Service
from tests.e2e.conftest import STAFF_PASSWORD, Watch, staff_login
from tests.e2e.test_audit_browser import sideways
from tests.e2e.test_case_browser import DESKTOP, PHONE, shot
from tests.e2e.widget_site import axe

pytestmark = pytest.mark.browser
WORDS = {"fi": ("Käyttäjät", "Käyttäjätilit", "Poistettu käytöstä", "Demotili"),
         "sv": ("Användare", "Personalkonton", "Inaktiverat", "Demokonto"),
         "en": ("Staff", "Staff accounts", "Disabled", "Demo account")}


async def test_an_admin_sees_every_account_and_disables_one(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=10_000)
    store = service.running.system.store
    service.add_staff("anna@hel.fi", [], role="admin", password=STAFF_PASSWORD,
                      name="Anna Ylläpitäjä")
    service.add_staff("ville@hel.fi", ["lantinen"], password=STAFF_PASSWORD,
                      name="Ville Virtanen")
    service.add_staff("leena@hel.fi", [], role="lead", name="Leena Esihenkilö")
    service.add_staff("demo@hel.fi", ["itainen", "koillinen"], name="Demo Neuvoja",
                      second_factor=False)
    service.add_staff("pekka@hel.fi", ["keskinen"], name="Pekka Poissa")
    store.run(mark_demo, "demo@hel.fi")
    store.run(set_disabled, "pekka@hel.fi", True)
    problems: list[str] = []
    page: Page | None = None
    for viewport in (DESKTOP, PHONE):
        size: ViewportSize = viewport
        page = await (await browser.new_context(viewport=size)).new_page()
        problems += await watch(page, f"admin {viewport['width']}px")
        await staff_login(page, service.url, "anna@hel.fi", STAFF_PASSWORD)
        for lang, (link, title, disabled, demo) in WORDS.items():
            await page.goto(f"{service.url}/admin/staff?lang={lang}")
            await expect(page.get_by_role("heading", level=1)).to_have_text(title)
            await expect(page.get_by_role("link", name=link, exact=True)).to_have_attribute(
                "aria-current", "page")
            table = page.locator("#staff-accounts")
            await expect(table.locator("tbody tr")).to_have_count(5)
            await expect(table.get_by_role("row", name=re.compile("Pekka"))).to_contain_text(
                disabled)
            await expect(table.get_by_role("row", name=re.compile("Demo"))).to_contain_text(
                demo)
            problems += await axe(page, f"admin/staff {lang} {viewport['width']}px")
            await shot(page, f"admin-staff-{lang}-{viewport['width']}")
            assert not await sideways(page), f"{lang} scrolls sideways at {viewport['width']}"
            reset = table.locator("tr", has_text="ville@hel.fi").locator("details")
            await reset.locator("summary").click()  # the reset's confirm step opens
            await expect(reset.get_by_role("button")).to_contain_text("Ville Virtanen")
            problems += await axe(page, f"admin/staff reset {lang} {viewport['width']}px")
            assert not await sideways(page), f"{lang} scrolls sideways at {viewport['width']}"
    assert page is not None

    ville = await (await browser.new_context(viewport=PHONE)).new_page()
    problems += await watch(ville, "ville 390px")
    await staff_login(ville, service.url, "ville@hel.fi", STAFF_PASSWORD)
    await page.goto(f"{service.url}/admin/staff")
    await page.get_by_role("button", name="Poista tili käytöstä: Ville Virtanen").click()
    await expect(page.get_by_role("status").filter(has_text="Tili poistettu")).to_have_text(
        "Tili poistettu käytöstä: Ville Virtanen. Hänen istuntonsa ja API-avaimensa "
        "lakkasivat toimimasta heti.")
    row = page.locator("#staff-accounts").get_by_role("row", name=re.compile("Ville"))
    await expect(row).to_contain_text("Poistettu käytöstä")
    await expect(row.get_by_role("button", name="Ota tili käyttöön: Ville Virtanen")
                 ).to_be_visible()
    problems += await axe(page, "admin/staff after a disable 390px")
    await shot(page, "admin-staff-disabled-fi-390")
    await ville.reload()  # the disable ended her session: the login page
    await expect(ville).to_have_url(re.compile(r"/login\?next=/inbox$"))
    assert problems == []


async def test_a_lead_is_told_accounts_are_for_admins(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=10_000)
    service.add_staff("leena@hel.fi", [], role="lead", password=STAFF_PASSWORD)
    problems: list[str] = []
    page = await (await browser.new_context(viewport=PHONE)).new_page()
    problems += await watch(page, "lead 390px")
    await staff_login(page, service.url, "leena@hel.fi", STAFF_PASSWORD)
    assert await page.get_by_role("link", name="Käyttäjät", exact=True).count() == 0
    answer = await page.goto(f"{service.url}/admin/staff")
    assert answer is not None and answer.status == 403
    await expect(page.get_by_role("alert")).to_contain_text("vain ylläpitäjät")
    problems += await axe(page, "admin/staff refused 390px")
    await shot(page, "admin-staff-refused-fi-390")
    assert problems == []
