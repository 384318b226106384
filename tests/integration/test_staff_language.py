"""The staff UI language as a counsellor meets it, over real HTTP with a session cookie:
the header's picker stores the choice on their staff row and brings them back to the same
page in it; the choice holds in a new session; `?lang=` still wins for one page; with no
choice stored the browser's Accept-Language decides, then Finnish; the picker never sends
anyone to another site and is a write like any other (CSRF token, session)."""

from __future__ import annotations

import re
from html import unescape

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import Staff
from tests.conftest import Service, second_factor
from tests.integration.test_web_security import HIDDEN_CSRF, PASSWORD, browser, log_in

NAV = {"fi": ("Saapuneet", "Soittopyynnöt", "Kirjaa puhelu"),
       "sv": ("Inkorg", "Återuppringningar", "Registrera samtal"),
       "en": ("Inbox", "Callback requests", "Log a call")}
HTML_LANG = re.compile(r'<html lang="(\w+)">')


async def page(http: aiohttp.ClientSession, url: str, **headers: str) -> tuple[str, str]:
    """The page's language (`<html lang>`) and its HTML, unescaped."""
    async with http.get(url, headers=headers) as r:
        assert r.status == 200, await r.text()
        html = unescape(await r.text())
    found = HTML_LANG.search(html)
    assert found, "the page says its language"
    return found.group(1), html


def speaks(html: str, lang: str) -> bool:
    return all(f">{word}</a>" in html for word in NAV[lang])


async def choose(http: aiohttp.ClientSession, service: Service, language: str, next_: str,
                 csrf: str | None = None) -> tuple[int, str]:
    """The header's picker, posted as the browser posts it; (status, Location)."""
    if csrf is None:
        async with http.get(service.url + "/inbox") as r:
            found = HIDDEN_CSRF.search(await r.text())
        assert found
        csrf = found.group(1)
    form = {"language": language, "next": next_, **({"csrf_token": csrf} if csrf else {})}
    async with http.post(service.url + "/me/language", data=form, allow_redirects=False) as r:
        await r.read()
        return r.status, r.headers.get("Location", "")


async def stored(service: Service, email: str) -> str | None:
    def query(session: Session) -> str | None:
        return session.scalar(select(Staff.ui_language).where(Staff.email == email))
    return await service.running.system.store.call(query)


async def test_the_chosen_language_is_stored_and_holds_in_a_new_session(service: Service):
    service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    async with browser(service) as http:
        assert (await log_in(service, http, "irma@hel.fi")).status == 303
        lang, html = await page(http, f"{service.url}/callbacks?claimed=none")
        assert lang == "fi" and speaks(html, "fi")  # Finnish when nothing says otherwise
        assert '<form method="post" action="/me/language"' in html
        for code, name in (("fi", "Suomi"), ("sv", "Svenska"), ("en", "English")):
            assert re.search(rf'value="{code}" lang="{code}"[^>]*>{name}</button>', html)
        assert 'name="next" value="/callbacks?claimed=none"' in html  # back to this page

        status, location = await choose(http, service, "sv", "/callbacks?claimed=none")
        assert (status, location) == (303, "/callbacks?claimed=none")
        assert await stored(service, "irma@hel.fi") == "sv"
        lang, html = await page(http, service.url + location)
        assert lang == "sv" and speaks(html, "sv") and "<h1>Återuppringningar</h1>" in html
        assert 'action="/callbacks/claim"' in html  # a stored choice needs no ?lang= in links

    async with browser(service) as later:  # another day, another session
        assert (await log_in(service, later, "irma@hel.fi")).status == 303
        lang, html = await page(later, f"{service.url}/calls/new",
                                **{"Accept-Language": "fi-FI,fi;q=0.9"})
        assert lang == "sv" and speaks(html, "sv")  # her choice over her browser's
    me = await service.get_json("/api/v1/me", service.tokens["irma@hel.fi"])
    assert me["ui_language"] == "sv"  # an API client can follow it too


async def test_lang_in_the_address_wins_for_that_page_and_the_picker_drops_it(
        service: Service):
    service.add_staff("irma@hel.fi", ["itainen"])
    async with browser(service) as http:
        await log_in(service, http, "irma@hel.fi")
        assert (await choose(http, service, "sv", "/inbox"))[0] == 303
        lang, html = await page(http, f"{service.url}/callbacks?lang=en")
        assert lang == "en" and speaks(html, "en")
        assert 'action="/callbacks/claim?lang=en"' in html  # kept while asked for
        assert (await page(http, f"{service.url}/callbacks"))[0] == "sv"
        # Choosing a language on a page opened with ?lang=en shows the new choice there.
        status, location = await choose(http, service, "fi", "/callbacks?lang=en&claimed=none")
        assert (status, location) == (303, "/callbacks?claimed=none")
        assert (await page(http, service.url + location))[0] == "fi"


@pytest.mark.parametrize(("header", "lang"), [("sv-FI,sv;q=0.9,fi;q=0.8", "sv"),
                                               ("en-GB,en;q=0.9", "en"),
                                               ("de-DE,fr;q=0.5", "fi"), ("", "fi")])
async def test_the_browsers_language_decides_while_none_is_stored(
        service: Service, header: str, lang: str):
    service.add_staff("irma@hel.fi", ["itainen"])
    async with browser(service) as http:
        shown, html = await page(http, f"{service.url}/login", **{"Accept-Language": header})
        assert shown == lang  # the login page follows the browser too
        await log_in(service, http, "irma@hel.fi")
        shown, html = await page(http, f"{service.url}/callbacks", **{"Accept-Language": header})
        assert shown == lang and speaks(html, lang)
    assert await stored(service, "irma@hel.fi") is None  # a browser's wish is not a choice


async def test_a_language_picked_on_the_login_page_becomes_theirs(service: Service):
    service.add_staff("irma@hel.fi", ["itainen"])
    async with browser(service) as http:
        lang, html = await page(http, f"{service.url}/login?next=/callbacks",
                                **{"Accept-Language": "fi"})
        assert lang == "fi" and "Kirjaudu" in html
        for code, name in (("sv", "Svenska"), ("en", "English")):
            assert (f'href="/login?lang={code}&next=%2Fcallbacks" lang="{code}" '
                    f'hreflang="{code}">{name}</a>') in html
        lang, html = await page(http, f"{service.url}/login?lang=sv&next=/callbacks")
        assert lang == "sv" and "Lösenord" in html and 'action="/login?lang=sv"' in html
        csrf = HIDDEN_CSRF.search(html)
        assert csrf and 'name="language" value="sv"' in html
        form = {"email": "irma@hel.fi", "password": "wrong", "csrf_token": csrf.group(1),
                "next": "/callbacks", "language": "sv"}
        async with http.post(service.url + "/login?lang=sv", data=form) as r:
            assert r.status == 401
            html = await r.text()
        assert "E-postadressen eller lösenordet är fel." in html and '<html lang="sv">' in html
        csrf = HIDDEN_CSRF.search(html)  # the page again, with a new token
        assert csrf
        form.update(password=PASSWORD, csrf_token=csrf.group(1))
        async with http.post(service.url + "/login?lang=sv", data=form,
                             allow_redirects=False) as r:
            await r.read()
        r = await second_factor(http, service.url, "irma@hel.fi", r)
        assert r.status == 303 and r.headers["Location"] == "/callbacks"
        lang, html = await page(http, f"{service.url}/callbacks")
        assert lang == "sv" and speaks(html, "sv")
    assert await stored(service, "irma@hel.fi") == "sv"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/inbox",
                                    "/\\evil.example/", "/\t/evil.example/",
                                    "javascript:alert(1)", "inbox", ""])
async def test_the_picker_never_sends_anyone_to_another_site(service: Service, target: str):
    service.add_staff("irma@hel.fi", ["itainen"])
    async with browser(service) as http:
        await log_in(service, http, "irma@hel.fi")
        assert await choose(http, service, "en", target) == (303, "/inbox")
    assert await stored(service, "irma@hel.fi") == "en"


async def test_the_picker_is_a_write_of_a_signed_in_staff_member(service: Service):
    service.add_staff("irma@hel.fi", ["itainen"])
    status, _ = await choose(service.http, service, "sv", "/inbox", csrf="")
    assert status == 401  # nobody signed in
    async with browser(service) as http:
        await log_in(service, http, "irma@hel.fi")
        assert (await choose(http, service, "sv", "/inbox", csrf=""))[0] == 403
        assert (await choose(http, service, "sv", "/inbox", csrf="guessed"))[0] == 403
        assert await stored(service, "irma@hel.fi") is None
        assert (await choose(http, service, "de", "/inbox"))[0] == 400  # not one of ours
        assert await stored(service, "irma@hel.fi") is None
        assert (await page(http, f"{service.url}/inbox"))[0] == "fi"


async def test_after_a_refused_form_the_picker_comes_back_to_the_form_page(service: Service):
    """A refusal is shown at a POST address; the language menu goes back to the form's page."""
    service.add_staff("irma@hel.fi", ["itainen"])
    async with browser(service) as http:
        await log_in(service, http, "irma@hel.fi")
        async with http.get(f"{service.url}/calls/new?phone=040") as r:
            found = HIDDEN_CSRF.search(await r.text())
        assert found
        form = {"csrf_token": found.group(1), "phone": "040", "direction": "in"}
        async with http.post(f"{service.url}/calls/new", data=form,
                             headers={"Referer": f"{service.url}/calls/new?phone=040"}) as r:
            assert r.status == 400
            html = unescape(await r.text())
        assert 'name="next" value="/calls/new?phone=040"' in html
        async with http.post(f"{service.url}/calls/new", data=form,
                             headers={"Referer": "https://evil.example/calls/new"}) as r:
            html = unescape(await r.text())
        assert 'name="next" value=""' in html  # another site's page is no page of ours
        assert await choose(http, service, "en", "") == (303, "/inbox")
