"""The reports page in Chromium: a lead picks a period, sees every figure as a chart and a
table, downloads a figure's CSV, and axe-core finds no WCAG 2.1 A/AA violation in fi, sv
and en at 1280 px and 390 px (which never scrolls sideways). With YHTEYS_SCREENSHOTS set,
screenshots go there."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, ViewportSize, expect

from tests.conftest import Service
from tests.e2e.conftest import STAFF_PASSWORD, Watch, staff_login
from tests.e2e.test_case_browser import DESKTOP, PHONE, shot
from tests.e2e.widget_site import axe
from tests.integration.test_reports import PERIOD, known  # noqa: F401 (the dataset fixture)

pytestmark = pytest.mark.browser


async def test_a_lead_reads_the_reports_as_charts_and_tables(
        service: Service, browser: Browser, watch: Watch, known: dict) -> None:  # noqa: F811
    expect.set_options(timeout=10_000)
    service.add_staff("leena@hel.fi", [], role="lead", password=STAFF_PASSWORD, name="Leena")
    problems: list[str] = []
    for viewport, langs in ((DESKTOP, ("fi", "sv", "en")), (PHONE, ("fi",))):
        viewport_size: ViewportSize = viewport
        page = await (await browser.new_context(viewport=viewport_size,
                                                accept_downloads=True)).new_page()
        problems += await watch(page, f"lead {viewport['width']}px")
        await staff_login(page, service.url, "leena@hel.fi", STAFF_PASSWORD)
        for lang in langs:
            await page.goto(f"{service.url}/reports?{PERIOD}&lang={lang}")
            charts = page.locator("svg.report__chart")
            await expect(charts).to_have_count(9)
            who = page.locator("#report-who-contacted")
            await expect(who.locator("table")).to_contain_text(
                {"fi": "Asiakas itse", "sv": "Klienten själv", "en": "The client"}[lang])
            assert await charts.first.bounding_box() is not None
            problems += await axe(page, f"reports {lang} {viewport['width']}px")
            await shot(page, f"reports-{lang}-{viewport['width']}")
        wide = await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not wide, f"the page scrolls sideways at {viewport['width']} px"
    async with page.expect_download() as download:
        await page.locator("#report-reasons a.report__csv").click()
    saved = await (await download.value).path()
    assert saved is not None and "code,label,count" in saved.read_text("utf-8")
    await page.goto(f"{service.url}/reports?from=2026-03-01&to=2026-02-01")
    await expect(page.get_by_role("alert")).to_contain_text("alku on sen lopun jälkeen")
    assert problems == []
