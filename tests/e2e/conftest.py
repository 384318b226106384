"""A real browser for the end-to-end tests: Debian's chromium driven by Playwright.

Never `playwright install`: the browser is the system's chromium (apt-get install chromium).
`watch(page, label)` collects a page's console errors, uncaught exceptions and
Content-Security-Policy violations into one list that a test asserts stays empty.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect

from tests.conftest import totp_code

# A browser in Helsinki asks for Finnish (the staff UI follows Accept-Language until the
# counsellor picks a language); a context given a `locale` asks for that one instead.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--accept-lang=fi-FI,fi"]

# Init scripts are injected by the browser itself, outside the page's script-src 'self',
# so this listener sees every violation, including ones that produce no console message.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__yhteysCsp(`${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"}`
                     + ` in ${e.sourceFile || e.documentURI}:${e.lineNumber}`);
});
"""

Watch = Callable[[Page, str], Awaitable[list[str]]]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not on PATH: apt-get install -y chromium "
                    "(never `playwright install`)")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
def watch() -> Watch:
    async def _watch(page: Page, label: str) -> list[str]:
        problems: list[str] = []

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type in ("error", "assert"):
                problems.append(f"{label}: console {msg.type}: {msg.text} {msg.location}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: problems.append(f"{label}: uncaught {exc}"))
        await page.expose_binding(
            "__yhteysCsp", lambda _src, text: problems.append(f"{label}: CSP {text}"))
        await page.add_init_script(CSP_LISTENER)
        return problems

    return _watch


STAFF_PASSWORD = "kontula-korttelit-2024"


async def enter_code(page: Page, base_url: str, email: str) -> None:
    """The second step of a login: the code the authenticator app shows (tests/conftest.py
    `Service.add_staff` enrolled its secret), on the page that asks for it in Finnish."""
    await expect(page).to_have_url(re.compile(r"/login/code"))
    await page.get_by_label("Koodi", exact=True).fill(await totp_code(base_url, email))
    await page.get_by_role("button", name="Vahvista", exact=True).click()


async def staff_login(page: Page, base_url: str, email: str,
                      password: str = STAFF_PASSWORD) -> Page:
    """Log a counsellor in through the form and wait until their inbox is live."""
    await page.goto(f"{base_url}/login?next=/inbox")
    await page.get_by_label("Sähköposti").fill(email)
    await page.get_by_label("Salasana").fill(password)
    await page.get_by_role("button", name="Kirjaudu", exact=True).click()
    await enter_code(page, base_url, email)
    await expect(page).to_have_url(re.compile(r"/inbox$"))
    await expect(page.locator("#live-status")).to_have_text("Päivittyy reaaliajassa")
    return page
