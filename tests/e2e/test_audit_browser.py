"""The auditor's page in Chromium: an auditor who logs in lands on /audit, reads the use and
disclosure logs as tables in fi, sv and en, filters them by resident, downloads a
resident's log report as CSV, is told in words when the resident does not exist; a
counsellor gets a page saying the logs are the auditors'. axe-core finds no WCAG 2.1 A/AA
violation at 1280 px and 390 px (which never scrolls sideways). With YHTEYS_SCREENSHOTS
set, screenshots go there."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.conftest import Service
from tests.e2e.conftest import STAFF_PASSWORD, Watch, staff_login
from tests.e2e.test_case_browser import DESKTOP, PHONE, shot
from tests.e2e.widget_site import axe
from tests.integration.test_rights import resident_with_everything

pytestmark = pytest.mark.browser
EXPORT = {"fi": "asukkaan tietojen luovutus hänelle", "sv": "utdrag av invånarens uppgifter",
          "en": "export of the resident's data"}


async def sideways(page: Page) -> bool:
    return bool(await page.evaluate(
        "document.documentElement.scrollWidth > window.innerWidth"))


async def test_an_auditor_reads_the_logs_and_makes_a_log_report(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=10_000)
    world = await resident_with_everything(service)
    rid = world["resident"]
    await service.get_json(f"/api/v1/residents/{rid}/export", world["ville"])
    service.add_staff("aino@hel.fi", [], role="auditor", password=STAFF_PASSWORD,
                      name="Aino Auditoija")
    problems: list[str] = []
    page: Page | None = None
    for viewport in (DESKTOP, PHONE):
        size: ViewportSize = viewport
        page = await (await browser.new_context(viewport=size, accept_downloads=True)
                      ).new_page()
        problems += await watch(page, f"auditor {viewport['width']}px")
        await staff_login(page, service.url, "aino@hel.fi", STAFF_PASSWORD)
        await page.goto(service.url + "/")
        await expect(page).to_have_url(re.compile(r"/audit$"))  # the inbox is empty for them
        await expect(page.get_by_role("link", name="Lokit")).to_have_attribute(
            "aria-current", "page")
        for lang in ("fi", "sv", "en"):
            await page.goto(f"{service.url}/audit?lang={lang}")
            await expect(page.locator("#use-log tbody tr").first).to_be_visible()
            await expect(page.locator("#disclosure-log")).to_contain_text(EXPORT[lang])
            problems += await axe(page, f"audit {lang} {viewport['width']}px")
            await shot(page, f"audit-{lang}-{viewport['width']}")
            assert not await sideways(page), f"/audit scrolls sideways at {viewport['width']}"
    assert page is not None
    await page.goto(f"{service.url}/audit")
    await page.get_by_label("Asukkaan numero").first.fill(str(rid))
    await page.get_by_role("button", name="Näytä").click()
    await expect(page).to_have_url(re.compile(rf"resident={rid}"))
    residents = await page.locator("#use-log tbody tr td:nth-child(6)").all_inner_texts()
    assert residents and set(residents) == {str(rid)}
    report = page.locator("#report")
    await report.get_by_label("Asukkaan numero").fill(str(rid))
    await report.get_by_label("CSV, taulukkolaskentaan").check()
    async with page.expect_download() as download:
        await report.get_by_role("button", name="Laadi lokiraportti").click()
    saved = await (await download.value).path()
    assert saved is not None and saved.read_text("utf-8").startswith("log,")
    await report.get_by_label("Asukkaan numero").fill("999999")
    await report.get_by_role("button", name="Laadi lokiraportti").click()
    await expect(page.get_by_role("alert")).to_contain_text("Tällä numerolla ei ole asukasta.")
    problems += await axe(page, "audit report refused 390px")
    assert problems == []


async def test_a_counsellor_is_told_the_logs_are_for_auditors(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=10_000)
    service.add_staff("ville@hel.fi", ["lantinen"], password=STAFF_PASSWORD)
    problems: list[str] = []
    page = await (await browser.new_context(viewport=PHONE)).new_page()
    problems += await watch(page, "counsellor 390px")
    await staff_login(page, service.url, "ville@hel.fi", STAFF_PASSWORD)
    assert await page.get_by_role("link", name="Lokit").count() == 0  # not in their menu
    answer = await page.goto(f"{service.url}/audit")
    assert answer is not None and answer.status == 403
    await expect(page.get_by_role("alert")).to_contain_text("vain tarkastajat")
    problems += await axe(page, "audit refused 390px")
    await shot(page, "audit-refused-fi-390")
    assert problems == []
