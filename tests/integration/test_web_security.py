"""The web edge: health, the OpenAPI document, staff authentication, per-area visibility,
the access log, browser sessions with CSRF, and the security headers pages carry."""

from __future__ import annotations

import asyncio
import re
import smtplib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from html import unescape

import aiohttp
import openapi_spec_validator
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from yarl import URL

from inbox.models import AccessLog, Contact, Message
from tests.conftest import Service, second_factor
from tests.integration.test_email import mail, send

PASSWORD = "correct horse battery"
HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def assert_problem(response: aiohttp.ClientResponse, status: int) -> dict:
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/problem+json", response.content_type
    body = await response.json(content_type=None)
    assert body["status"] == status
    assert body["title"] and "type" in body and "detail" in body
    assert "Traceback" not in text
    return body


async def contact_in(service: Service, postal_code: str, token: str,
                     phone: str = "040 123 4567") -> dict:
    """A resident writes (email, a channel that takes written answers); returns the contact."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    sender = f"asukas{digits}@example.com"
    await send(service, mail(f"Vuokravelkaa kertynyt. Soittakaa {phone}. {postal_code} Helsinki",
                             sender=sender, message_id=f"<{postal_code}.{digits}@example.com>"),
               sender=sender)
    for _ in range(150):
        items = (await service.get_json("/api/v1/contacts?folder=all", token))["items"]
        mine = [c for c in items if (c["resident"] or {}).get("email") == sender]
        if mine:
            return await service.get_json(f"/api/v1/contacts/{mine[0]['id']}", token)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no contact from {sender}")


async def messages_of(service: Service, contact_id: int, direction: str) -> list[str]:
    def query(session: Session) -> list[str]:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        return list(session.scalars(select(Message.text).where(
            Message.conversation_id == contact.conversation_id,
            Message.direction == direction).order_by(Message.id)))
    return await service.running.system.store.call(query)


def csp_directives(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


@asynccontextmanager
async def browser(service: Service) -> AsyncIterator[aiohttp.ClientSession]:
    """A client that keeps cookies for 127.0.0.1, as a browser would."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield http


async def log_in(service: Service, http: aiohttp.ClientSession, email: str,
                 password: str = PASSWORD) -> aiohttp.ClientResponse:
    async with http.get(service.url + "/login") as r:
        assert r.status == 200
        assert "yhteys_login" in r.cookies
        found = HIDDEN_CSRF.search(await r.text())
        assert found, "the login form carries a CSRF field"
    form = {"email": email, "password": password, "csrf_token": found.group(1),
            "next": "/inbox"}
    async with http.post(service.url + "/login", data=form, allow_redirects=False) as r:
        await r.read()
    return await second_factor(http, service.url, email, r)  # the code, as the app shows


async def browser_csrf(service: Service, http: aiohttp.ClientSession) -> str:
    async with http.get(service.url + "/api/v1/me") as r:
        assert r.status == 200, await r.text()
        token = (await r.json())["csrf_token"]
    assert isinstance(token, str) and len(token) >= 16
    return token


async def test_healthz(service: Service):
    async with service.http.get(service.url + "/healthz") as r:
        assert r.status == 200
        assert (await r.json())["status"] == "ok"


def served_api_operations(service: Service) -> set[tuple[str, str]]:
    ops = set()
    for route in service.running.runner.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/v1") and route.method not in ("HEAD", "OPTIONS"):
            ops.add((path, route.method.lower()))
    return ops


async def openapi_document(service: Service) -> dict:
    async with service.http.get(service.url + "/api/v1/openapi.json") as r:
        assert r.status == 200
        assert r.content_type == "application/json"
        return await r.json()


async def test_openapi_document_is_3_1_and_lists_every_api_route_served(service: Service):
    doc = await openapi_document(service)
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"] and doc["info"]["version"]
    documented = {(path, method) for path, item in doc["paths"].items()
                  for method in item if method in ("get", "post", "put", "patch", "delete")}
    served = served_api_operations(service)
    assert served, "the app serves /api/v1 routes"
    assert served - documented == set(), "served but not in the OpenAPI document"
    api_documented = {(p, m) for p, m in documented if p.startswith("/api/v1")}
    assert api_documented - served == set(), "documented but not served"
    # Every $ref points at a component that exists; every path parameter is declared.
    text = repr(doc)
    for ref in set(re.findall(r"'\$ref': '#/components/schemas/([^']+)'", text)):
        assert ref in doc["components"]["schemas"], ref
    for path, item in doc["paths"].items():
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (path, method)
            assert op["responses"], (path, method)
            for security in op.get("security", []):
                assert set(security) <= set(doc["components"]["securitySchemes"])


async def test_openapi_document_passes_the_openapi_spec_validator(service: Service):
    doc = await openapi_document(service)
    openapi_spec_validator.validate(doc)  # raises on an invalid OpenAPI 3.1 document


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer yht_not-a-real-token"}, {"Authorization": "Bearer "},
    {"Authorization": "Basic aXJtYTpwdw=="}, {"Cookie": "yhteys_session=forged"},
])
async def test_api_without_valid_credentials_is_401_problem(service: Service,
                                                            headers: dict[str, str]):
    service.add_staff("irma@hel.fi", ["itainen"])
    for path in ("/api/v1/contacts", "/api/v1/me", "/api/v1/unparsed"):
        async with service.http.get(service.url + path, headers=headers) as r:
            await assert_problem(r, 401)
    async with service.http.post(service.url + "/api/v1/contacts/1/replies",
                                 json={"text": "x"}, headers=headers) as r:
        await assert_problem(r, 401)


async def test_assets_need_no_credentials_and_open_no_other_path(service: Service):
    """Styles and scripts hold no personal data: a stale token or session costs no check
    and no refusal (a page's twenty assets were twenty session checks, and none loaded
    while the database was away); a path that only starts like an asset gets nothing."""
    stale = {"Authorization": "Bearer not-a-token", "Cookie": "yhteys_session=gone"}
    for path in ("/static/app.css", "/vendor/hds/base.min.css"):
        async with service.http.get(service.url + path, headers=stale) as r:
            assert r.status == 200 and r.headers["Cache-Control"] == "public, max-age=3600"
    for path in ("/static/../api/v1/contacts", "/static/%2e%2e/api/v1/contacts"):
        async with service.http.get(service.url + path) as r:
            assert r.status in (401, 403, 404)
            assert b'"items"' not in await r.read()


async def test_counsellor_cannot_see_or_answer_another_areas_contact(service: Service):
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    ella = service.add_staff("ella@hel.fi", ["etelainen"])
    contact = await contact_in(service, "00320", ville)
    assert contact["area"] == "lantinen"
    cid = contact["id"]

    for folder in ("areas", "all", "unassigned", "mine"):
        items = (await service.get_json(f"/api/v1/contacts?folder={folder}", ella))["items"]
        assert items == [], folder
    async with service.http.get(f"{service.url}/api/v1/contacts/{cid}",
                                headers=service.auth(ella)) as r:
        body = await assert_problem(r, 404)
        assert "040" not in repr(body) and "+358" not in repr(body)  # nothing leaks
    async with service.http.post(f"{service.url}/api/v1/contacts/{cid}/replies",
                                 json={"text": "Hei, täällä Ella"},
                                 headers=service.auth(ella)) as r:
        await assert_problem(r, 404)
    async with service.http.get(f"{service.url}/contacts/{cid}",
                                headers=service.auth(ella)) as r:
        assert r.status == 404
        assert "+358401234567" not in await r.text()
    assert await messages_of(service, cid, "out") == []

    assert [c["id"] for c in (await service.get_json("/api/v1/contacts", ville))["items"]] \
        == [cid]
    await service.get_json(f"/api/v1/contacts/{cid}", ville)
    _, reply = await service.post_json(f"/api/v1/contacts/{cid}/replies",
                                       {"text": "Hei, täällä Ville"}, ville, status=201)
    assert reply is not None and reply["direction"] == "out"
    assert await messages_of(service, cid, "out") == ["Hei, täällä Ville"]


async def test_every_read_of_a_contact_writes_an_access_log_row(service: Service):
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    ville_id = (await service.get_json("/api/v1/me", ville))["id"]
    contact = await contact_in(service, "00320", ville)  # itself one detail read
    cid, resident_id = contact["id"], contact["resident"]["id"]

    def rows(session: Session) -> list[tuple[int, int | None, int | None, str, str]]:
        query = select(AccessLog.staff_id, AccessLog.contact_id, AccessLog.resident_id,
                       AccessLog.view, AccessLog.action).order_by(AccessLog.id)
        return [tuple(r) for r in session.execute(query)]  # type: ignore[misc]

    before = await service.running.system.store.call(rows)
    for _ in range(2):
        await service.get_json(f"/api/v1/contacts/{cid}", ville)
    async with service.http.get(f"{service.url}/contacts/{cid}",
                                headers=service.auth(ville)) as r:
        assert r.status == 200
    await service.get_json("/api/v1/contacts", ville)
    new = (await service.running.system.store.call(rows))[len(before):]
    assert new == [
        (ville_id, cid, resident_id, "api.contact", "read"),
        (ville_id, cid, resident_id, "api.contact", "read"),
        (ville_id, cid, resident_id, "page.contact", "read"),
        (ville_id, cid, resident_id, "api.contacts", "read"),
    ]


async def test_browser_login_sets_a_hardened_session_cookie(service: Service):
    service.add_staff("ville@hel.fi", ["lantinen"], name="Ville Läntinen")
    async with browser(service) as http:
        wrong = await log_in(service, http, "ville@hel.fi", "wrong password")
        assert wrong.status == 401
        assert wrong.content_type == "text/html"
        assert "yhteys_session" not in wrong.cookies
        async with http.get(service.url + "/api/v1/me") as r:
            assert r.status == 401

        right = await log_in(service, http, "ville@hel.fi")
        assert right.status == 303
        assert right.headers["Location"] == "/inbox"
        cookie = right.cookies["yhteys_session"]
        assert cookie.value and cookie["httponly"]
        assert cookie["samesite"].lower() == "lax"
        assert cookie["path"] == "/"
        async with http.get(service.url + "/api/v1/me") as r:
            assert r.status == 200
            assert (await r.json())["email"] == "ville@hel.fi"
        async with http.get(service.url + "/inbox") as r:
            assert r.status == 200 and "Ville Läntinen" in await r.text()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/",
                                    "/\\evil.example/", "/\t/evil.example/",
                                    "/\n/evil.example/", "/\r/evil.example/"])
async def test_login_never_redirects_to_another_site(service: Service, target: str):
    """A link to /login?next=... must not send the counsellor elsewhere after logging in."""
    service.add_staff("ville@hel.fi", ["lantinen"])
    async with browser(service) as http:
        async with http.get(service.url + "/login", params={"next": target}) as r:
            html = await r.text()
        csrf = HIDDEN_CSRF.search(html)
        carried = re.search(r'name="next" value="([^"]*)"', html)
        assert csrf and carried
        form = {"email": "ville@hel.fi", "password": PASSWORD, "csrf_token": csrf.group(1),
                "next": unescape(carried.group(1))}
        async with http.post(service.url + "/login", data=form, allow_redirects=False) as r:
            await r.read()
        r = await second_factor(http, service.url, "ville@hel.fi", r)
        assert r.status == 303
        location = r.headers["Location"]
    landing = URL(service.url).join(URL(location))
    assert (landing.host, landing.port) == ("127.0.0.1", service.running.http_port), location


async def test_login_form_without_its_csrf_cookie_is_refused(service: Service):
    service.add_staff("ville@hel.fi", ["lantinen"])
    form = {"email": "ville@hel.fi", "password": PASSWORD, "csrf_token": "guessed"}
    async with service.http.post(service.url + "/login", data=form,
                                 allow_redirects=False) as r:
        assert r.status == 403
        assert "yhteys_session" not in r.cookies


async def test_cookie_writes_need_the_csrf_token_and_our_origin(service: Service):
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    cid = (await contact_in(service, "00320", ville))["id"]
    replies = f"{service.url}/api/v1/contacts/{cid}/replies"
    async with browser(service) as http:
        assert (await log_in(service, http, "ville@hel.fi")).status == 303
        csrf = await browser_csrf(service, http)

        async with http.post(replies, json={"text": "ilman tokenia"}) as r:
            await assert_problem(r, 403)
        async with http.post(replies, json={"text": "väärä token"},
                             headers={"X-CSRF-Token": csrf[::-1]}) as r:
            await assert_problem(r, 403)
        async with http.post(replies, json={"text": "vieras origin"},
                             headers={"X-CSRF-Token": csrf,
                                      "Origin": "https://evil.example"}) as r:
            await assert_problem(r, 403)
        async with http.post(f"{service.url}/contacts/{cid}/reply",
                             data={"text": "lomake ilman tokenia"},
                             allow_redirects=False) as r:
            assert r.status == 403
        assert await messages_of(service, cid, "out") == []

        async with http.post(replies, json={"text": "oikea token"},
                             headers={"X-CSRF-Token": csrf, "Origin": service.url}) as r:
            assert r.status == 201, await r.text()
        async with http.post(f"{service.url}/contacts/{cid}/reply",
                             data={"text": "lomakkeelta", "csrf_token": csrf},
                             allow_redirects=False) as r:
            assert r.status == 303
    assert await messages_of(service, cid, "out") == ["oikea token", "lomakkeelta"]


async def test_logout_ends_the_session_on_the_server(service: Service):
    service.add_staff("ville@hel.fi", ["lantinen"])
    async with browser(service) as http:
        login = await log_in(service, http, "ville@hel.fi")
        session_value = login.cookies["yhteys_session"].value
        csrf = await browser_csrf(service, http)
        async with http.post(service.url + "/logout", allow_redirects=False) as r:
            assert r.status == 403  # logging out is a write: it needs the token too
        async with http.get(service.url + "/api/v1/me") as r:
            assert r.status == 200
        async with http.post(service.url + "/logout", data={"csrf_token": csrf},
                             allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/login"
    # The old cookie value, replayed, no longer authenticates anyone.
    stolen = {"Cookie": f"yhteys_session={session_value}"}
    async with service.http.get(service.url + "/api/v1/me", headers=stolen) as r:
        await assert_problem(r, 401)


@pytest.mark.parametrize("path", ["/login", "/chat", "/inbox", "/callbacks"])
async def test_pages_have_a_strict_content_security_policy(service: Service, path: str):
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    async with service.http.get(service.url + path, headers=service.auth(ville)) as r:
        assert r.status == 200
        assert r.content_type == "text/html"
        html = await r.text()
        csp = csp_directives(r.headers["Content-Security-Policy"])
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    script_src = csp.get("script-src", csp.get("default-src"))
    assert script_src, csp
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
        assert loose not in script_src, (loose, script_src)
    assert csp["default-src"] == ["'none'"] or csp["default-src"] == ["'self'"]
    assert csp.get("frame-ancestors") in (["'none'"], ["'self'"])
    assert csp.get("base-uri") in (["'none'"], ["'self'"])
    assert "object-src" not in csp or csp["object-src"] == ["'none'"]
    # The page itself works under that policy: no inline scripts or inline handlers.
    for tag in re.findall(r"<script\b[^>]*>", html, re.IGNORECASE):
        assert "src=" in tag or 'type="application/json"' in tag, tag  # data, not code
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE)


@pytest.mark.parametrize(("path", "headers"), [
    ("/no-such-page", {"Accept": "text/html"}),
    ("/", {"Accept": "text/html"}),
    ("/inbox", {"Accept": "text/html"}),
])
async def test_error_pages_and_redirects_carry_the_security_headers(
        service: Service, path: str, headers: dict[str, str]):
    async with service.http.get(service.url + path, headers=headers,
                                allow_redirects=False) as r:
        assert r.status in (303, 404)
        assert r.headers.get("X-Content-Type-Options") == "nosniff"
        assert "Content-Security-Policy" in r.headers
        assert r.headers.get("Cache-Control") == "no-store"


async def send_html_mail(service: Service) -> None:
    m = EmailMessage()
    m["From"], m["To"] = "Matti <matti@example.com>", service.settings.service_address
    m["Subject"], m["Message-ID"] = "Kosteusvaurio", "<html-1@example.com>"
    m.set_content("Kylpyhuoneessa on kosteutta. 00320 Helsinki")
    m.add_alternative('<p>Kylpyhuoneessa on <b>kosteutta</b>.<script>alert(1)</script>'
                      "</p><p>00320 Helsinki</p>", subtype="html")

    def _send() -> None:
        with smtplib.SMTP("127.0.0.1", service.smtp_port, timeout=10) as client:
            client.send_message(m)
    await asyncio.to_thread(_send)


async def test_message_html_frame_is_sandboxed(service: Service):
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    ella = service.add_staff("ella@hel.fi", ["etelainen"])
    await send_html_mail(service)
    [contact] = await service.wait_contacts(ville, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", ville)
    [message] = [m for m in detail["messages"] if m["has_html"]]
    frame = f"{service.url}/contacts/{contact['id']}/messages/{message['id']}/html"
    async with service.http.get(frame, headers=service.auth(ville)) as r:
        assert r.status == 200 and r.content_type == "text/html"
        html = await r.text()
        csp = csp_directives(r.headers["Content-Security-Policy"])
    assert "<b>kosteutta</b>" in html and "<script" not in html
    assert "sandbox" in csp
    assert not any(flag.startswith("allow-") for flag in csp["sandbox"]), csp["sandbox"]
    assert csp["default-src"] == ["'none'"]
    assert "script-src" not in csp
    async with service.http.get(frame, headers=service.auth(ella)) as r:
        assert r.status == 404
        assert "kosteutta" not in await r.text()


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/no-such-thing"), ("GET", "/api/v1/contacts/999999"),
    ("POST", "/api/v1/contacts"), ("GET", "/api/v1/contacts/not-a-number"),
])
async def test_api_errors_are_json_problems(service: Service, method: str, path: str):
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    async with service.http.request(method, service.url + path, headers={
            **service.auth(ville), "Accept": "text/html,application/json"}) as r:
        assert 400 <= r.status < 500
        await assert_problem(r, r.status)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b'{"text": 5}',
                                  b'{"text": "   "}', b""])
async def test_malformed_reply_body_is_400_problem(service: Service, body: bytes):
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    cid = (await contact_in(service, "00320", ville))["id"]
    async with service.http.post(f"{service.url}/api/v1/contacts/{cid}/replies", data=body,
                                 headers={**service.auth(ville),
                                          "Content-Type": "application/json"}) as r:
        await assert_problem(r, 400)
    assert await messages_of(service, cid, "out") == []
