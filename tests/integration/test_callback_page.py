"""GET /callback: the residents' callback form in fi, sv and en, the language from ?lang= or
Accept-Language, a strict CSP, and the one partial the chat's offline view renders too."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.conftest import Service

TITLES = {"fi": "Soittopyyntö", "sv": "Begäran om återuppringning", "en": "Callback request"}
ASAP = {"fi": "Mahdollisimman pian", "sv": "Så snart som möjligt", "en": "As soon as possible"}


async def page(service: Service, query: str = "", **headers: str) -> tuple[str, dict[str, str]]:
    async with service.http.get(f"{service.url}/callback{query}", headers=headers) as r:
        assert r.status == 200, await r.text()
        assert r.content_type == "text/html"
        return unescape(await r.text()), dict(r.headers)


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_the_form_renders_in_each_language(service: Service, lang: str) -> None:
    html, headers = await page(service, f"?lang={lang}")
    assert f'<html lang="{lang}">' in html
    title = re.search(r"<title>(.*?)</title>", html)
    assert title and title.group(1).startswith(TITLES[lang])
    assert f">{ASAP[lang]}</option>" in html
    # The fields: a telephone number, a postal code, or no fixed address.
    assert re.search(r'<input[^>]*id="yh-cb-phone"[^>]*type="tel"[^>]*autocomplete="tel"', html)
    assert re.search(r'<input[^>]*id="yh-cb-postal"[^>]*autocomplete="postal-code"', html)
    assert 'id="yh-cb-nofixed"' in html
    assert re.search(rf'id="yh-cb-lang-{lang}"[^>]*value="{lang}" checked', html)
    topics = html.split('id="yh-cb-topic"', 1)[1].split("</select>", 1)[0]
    assert topics.count("<option") == 1 + 12  # "choose a topic" and the reasons
    assert service.settings.privacy_url in html
    # Without JavaScript it cannot send, and says so in all three languages.
    noscript = html.split("<noscript>", 1)[1].split("</noscript>", 1)[0]
    for said in ("Soittopyyntölomake tarvitsee JavaScriptin", "kräver JavaScript",
                 "The callback form needs JavaScript"):
        assert said in noscript
    assert re.search(r'<button[^>]*id="yh-cb-send"[^>]*disabled', html)
    # A strict policy: our scripts only, nothing inline, never framed.
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Language"] == lang
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", html)
    assert "/static/callback-form.js" in html


async def test_without_lang_the_browser_language_decides(service: Service) -> None:
    html, _ = await page(service, **{"Accept-Language": "sv-FI, sv;q=0.9, en;q=0.5"})
    assert '<html lang="sv">' in html and TITLES["sv"] in html
    html, _ = await page(service, **{"Accept-Language": "de, en;q=0.7"})
    assert '<html lang="en">' in html and TITLES["en"] in html
    html, headers = await page(service, "?lang=xx", **{"Accept-Language": "de"})
    assert '<html lang="fi">' in html and headers["Vary"] == "Accept-Language"
    html, _ = await page(service, "?lang=en", **{"Accept-Language": "sv"})
    assert '<html lang="en">' in html  # ?lang= wins over the header


async def test_the_chat_offers_the_same_form(service: Service) -> None:
    async with service.http.get(f"{service.url}/chat?lang=sv") as r:
        html = unescape(await r.text())
    view = html.split('id="yh-callback-view"', 1)[1].split("</section>", 1)[0]
    assert 'id="yh-cb-phone"' in view and 'id="yh-cb-window"' in view
    assert 'id="yh-to-prechat"' in view  # the chat's way back to its own form
    assert "/static/callback-form.js" in html
