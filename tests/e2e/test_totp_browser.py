"""The second factor in a real browser (Debian's chromium): a counsellor's first login
shows the enrolment page (a QR code and the key as text), the app's first code gives the
ten recovery codes once, and the next login asks for a code; in Finnish, Swedish and
English at 1280 px and at a phone's 390 px, axe-core finds no WCAG 2.1 A/AA violation on
the enrolment, recovery-code and code pages, and nothing reaches past the window's edge.
With YHTEYS_SCREENSHOTS set, screenshots go there."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pyotp
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.conftest import Service
from tests.e2e.conftest import STAFF_PASSWORD, Watch, staff_login
from tests.e2e.widget_site import axe

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
SCREENSHOTS = os.environ.get("YHTEYS_SCREENSHOTS")
WORDS = {
    "fi": {"email": "Sähköposti", "password": "Salasana", "login": "Kirjaudu",
           "enrol": "Ota toinen tunnistustekijä käyttöön", "first": "Kuusinumeroinen koodi, "
           "jonka sovellus näyttää nyt", "confirm": "Vahvista", "saved": "Tallenna varakoodisi",
           "continue": "Olen tallentanut ne, jatka", "code": "Koodi",
           "second": "Toinen tunnistustekijä", "inbox": "Saapuneet"},
    "sv": {"email": "E-post", "password": "Lösenord", "login": "Logga in",
           "enrol": "Ställ in den andra faktorn", "first": "Den sexsiffriga kod som appen "
           "visar nu", "confirm": "Bekräfta", "saved": "Spara dina reservkoder",
           "continue": "Jag har sparat dem, fortsätt", "code": "Kod",
           "second": "Andra faktor", "inbox": "Inkorg"},
    "en": {"email": "Email", "password": "Password", "login": "Log in",
           "enrol": "Set up the second factor", "first": "The six-digit code the app shows now",
           "confirm": "Confirm", "saved": "Save your recovery codes",
           "continue": "I have saved them, continue", "code": "Code",
           "second": "Second factor", "inbox": "Inbox"},
}


async def shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


WIDE = """(w) => [...document.querySelectorAll('body *')]
  .filter((el) => !el.parentElement.closest('[role=region]')
                  && el.getBoundingClientRect().right > w + 0.5)
  .map((el) => `${el.tagName}.${el.className}: ${Math.round(el.getBoundingClientRect().right)}`)"""


async def fits(page: Page, width: int) -> None:
    wide = await page.evaluate(WIDE, width)
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, wide


async def password(page: Page, base: str, email: str, lang: str) -> None:
    words = WORDS[lang]
    await page.goto(f"{base}/login?lang={lang}&next=/inbox")
    await page.get_by_label(words["email"]).fill(email)
    await page.get_by_label(words["password"]).fill(STAFF_PASSWORD)
    await page.get_by_role("button", name=words["login"], exact=True).click()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
async def test_enrolment_and_login_with_a_code_in_every_language(
        service: Service, browser: Browser, watch: Watch, viewport: ViewportSize) -> None:
    expect.set_options(timeout=10_000)
    width = viewport["width"]
    problems: list[str] = []
    found: list[str] = []
    for lang, words in WORDS.items():
        email = f"neuvoja.{lang}@hel.fi"
        service.add_staff(email, ["itainen"], password=STAFF_PASSWORD, second_factor=False)
        page = await (await browser.new_context(viewport=viewport)).new_page()
        problems += await watch(page, f"{lang} {width}px")
        await password(page, service.url, email, lang)
        await expect(page.get_by_role("heading", name=words["enrol"])).to_be_visible()
        await expect(page.locator(".account-qr svg")).to_be_visible()
        found += await axe(page, f"enrol {lang} {width}px")
        await fits(page, width)
        await shot(page, f"totp-enrol-{lang}-{width}")

        secret = (await page.locator("#secret").inner_text()).replace(" ", "")
        totp, step = pyotp.TOTP(secret), int(time.time() // 30)
        await page.get_by_label(words["first"]).fill(totp.at(step * 30))
        await page.get_by_role("button", name=words["confirm"], exact=True).click()
        await expect(page.get_by_role("heading", name=words["saved"])).to_be_visible()
        await expect(page.locator(".account-codes li")).to_have_count(10)
        found += await axe(page, f"recovery codes {lang} {width}px")
        await fits(page, width)
        await shot(page, f"totp-codes-{lang}-{width}")
        await page.get_by_role("link", name=words["continue"]).click()
        await expect(page).to_have_url(re.compile(r"/inbox$"))
        await expect(page.get_by_role("link", name=words["inbox"], exact=True)).to_be_visible()

        # The next login, in a browser of its own, asks for a code (the next step's).
        again = await (await browser.new_context(viewport=viewport)).new_page()
        problems += await watch(again, f"{lang} again {width}px")
        await password(again, service.url, email, lang)
        await expect(again.get_by_role("heading", name=words["second"])).to_be_visible()
        found += await axe(again, f"code {lang} {width}px")
        await fits(again, width)
        await shot(again, f"totp-code-{lang}-{width}")
        field = again.get_by_label(words["code"], exact=True)
        await expect(field).to_have_attribute("autocomplete", "one-time-code")
        await expect(field).to_have_attribute("inputmode", "numeric")
        await field.fill(totp.at(max(step + 1, int(time.time() // 30)) * 30))
        await again.get_by_role("button", name=words["confirm"], exact=True).click()
        await expect(again).to_have_url(re.compile(r"/inbox$"))
        await again.context.close()
        await page.context.close()
    assert found == []
    assert problems == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
async def test_the_tokens_page_makes_one_shown_once_and_passes_axe(
        service: Service, browser: Browser, watch: Watch, viewport: ViewportSize) -> None:
    expect.set_options(timeout=10_000)
    width = viewport["width"]
    service.add_staff("irma@hel.fi", ["itainen"], password=STAFF_PASSWORD)
    page = await (await browser.new_context(viewport=viewport)).new_page()
    problems = await watch(page, f"tokens {width}px")
    await staff_login(page, service.url, "irma@hel.fi")
    found: list[str] = []
    names = {"fi": ("Nimi", "Luo avain"), "sv": ("Namn", "Skapa en nyckel"),
             "en": ("Name", "Make a token")}
    for lang, (label, make) in names.items():
        await page.goto(f"{service.url}/me/tokens?lang={lang}")
        await page.get_by_label(label, exact=True).fill(f"skripti {lang}")
        await page.get_by_role("button", name=make, exact=True).click()
        await expect(page.locator("#new-token")).to_contain_text("yht_")
        found += await axe(page, f"/me/tokens {lang} {width}px")
        await shot(page, f"tokens-{lang}-{width}")
        await fits(page, width)
    await page.goto(f"{service.url}/me/tokens?lang=en")
    await expect(page.locator("#new-token")).to_have_count(0)  # shown once only
    await expect(page.get_by_role("row")).to_have_count(5)  # header, 3 made, the tests'
    assert found == [] and problems == []
