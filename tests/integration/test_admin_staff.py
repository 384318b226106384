"""The admin's page of staff accounts /admin/staff and its API, over HTTP: a disable stops
the account's live session and token at once, enable, a role change that holds on the next
request, a second-factor reset; an admin cannot lock themself out; leads and counsellors
are refused the page and every change; forms need the CSRF token; every change is a
use-log row naming whose account it was."""

from __future__ import annotations

import re
from html import unescape

import aiohttp
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import AccessLog, Staff
from inbox.staff import staff_id_of
from tests.conftest import Service
from tests.integration.test_staff_accounts import me, password_step
from tests.integration.test_web_security import assert_problem, browser, browser_csrf, log_in

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def ids(service: Service, *emails: str) -> list[int]:
    return [service.running.system.store.run(staff_id_of, e) for e in emails]


def changes_logged(session: Session) -> list[tuple[str, str, str]]:
    """(who, view, action) of the use log's rows about staff accounts."""
    rows = session.execute(select(Staff.email, AccessLog.view, AccessLog.action)
                           .join(Staff, Staff.id == AccessLog.staff_id)
                           .where(AccessLog.view.like("admin.staff.%"))
                           .order_by(AccessLog.id))
    return [(e, v, a) for e, v, a in rows]


async def page(http: aiohttp.ClientSession, service: Service, path: str = "/admin/staff"
               ) -> tuple[int, str]:
    async with http.get(service.url + path, headers={"Accept": "text/html"}) as r:
        return r.status, unescape(await r.text())


async def submit(http: aiohttp.ClientSession, service: Service, path: str,
                 **form: str) -> tuple[int, str, str]:
    """Posts a form of the page (with the page's CSRF token unless one is given); follows
    the redirect back: (status, final address, the page's text)."""
    if "csrf_token" not in form:
        _, html = await page(http, service)
        form["csrf_token"] = CSRF.search(html).group(1)  # type: ignore[union-attr]
    async with http.post(service.url + path, data=form,
                         headers={"Accept": "text/html"}) as r:
        return r.status, str(r.url.relative()), unescape(await r.text())


async def test_an_admin_disables_a_counsellor_whose_session_and_token_stop_at_once(
        service: Service):
    service.add_staff("admin@hel.fi", [], role="admin", name="Anna Admin")
    token = service.add_staff("ville@hel.fi", ["lantinen"], name="Ville Virtanen")
    [ville] = ids(service, "ville@hel.fi")
    async with browser(service) as admin, browser(service) as own:
        assert (await log_in(service, admin, "admin@hel.fi")).status == 303
        assert (await log_in(service, own, "ville@hel.fi")).status == 303
        assert await me(own, service) == 200
        status, html = await page(admin, service)
        assert status == 200 and 'href="/admin/staff" aria-current="page"' in html
        row = html[html.index(f'id="staff-{ville}"'):]
        row = row[:row.index("</tr>")]
        assert "Ville Virtanen" in row and "ville@hel.fi" in row and "Asumisneuvoja" in row
        assert "Läntinen" in row and "Otettu käyttöön" in row and "Käytössä" in row

        status, where, html = await submit(admin, service, f"/admin/staff/{ville}/disable")
        assert status == 200 and where.startswith("/admin/staff?") and "done=disable" in where
        assert "Tili poistettu käytöstä: Ville Virtanen." in html
        assert await me(own, service) == 401  # the live session: at once
        async with service.http.get(service.url + "/api/v1/me",
                                    headers=service.auth(token)) as r:
            assert (await assert_problem(r, 401))["code"] == "account.disabled"
        async with browser(service) as again:
            r = await password_step(service, again, "ville@hel.fi")
            assert r.status == 403  # the login is refused too

        status, _, html = await submit(admin, service, f"/admin/staff/{ville}/enable")
        assert status == 200 and "Tili otettu taas käyttöön: Ville Virtanen." in html
        assert (await service.get_json("/api/v1/me", token))["email"] == "ville@hel.fi"
    assert service.running.system.store.run(changes_logged) == [
        ("admin@hel.fi", f"admin.staff.disable:{ville}", "write"),
        ("admin@hel.fi", f"admin.staff.enable:{ville}", "write")]


async def test_a_role_change_holds_on_the_next_request_and_a_reset_makes_them_enrol(
        service: Service):
    service.add_staff("admin@hel.fi", [], role="admin")
    token = service.add_staff("ville@hel.fi", ["lantinen"], name="Ville Virtanen")
    [ville] = ids(service, "ville@hel.fi")
    async with service.http.get(service.url + "/api/v1/unparsed",
                                headers=service.auth(token)) as r:
        assert r.status == 403  # a counsellor: leads' list
    async with browser(service) as admin, browser(service) as own:
        await log_in(service, admin, "admin@hel.fi")
        status, _, html = await submit(admin, service, f"/admin/staff/{ville}/role",
                                       role="lead")
        assert status == 200 and "Uusi rooli käyttäjälle Ville Virtanen: Esihenkilö." in html
        async with service.http.get(service.url + "/api/v1/unparsed",
                                    headers=service.auth(token)) as r:
            assert r.status == 200  # the same token, a lead's now
        status, _, html = await submit(admin, service, f"/admin/staff/{ville}/role",
                                       role="boss")
        assert status == 200 and "Valitse jokin rooleista." in html
        assert (await service.get_json("/api/v1/me", token))["role"] == "lead"

        await log_in(service, own, "ville@hel.fi")
        status, _, html = await submit(admin, service,
                                       f"/admin/staff/{ville}/second-factor/reset")
        assert "Toinen tunnistustekijä nollattu: Ville Virtanen." in html
        row = html[html.index(f'id="staff-{ville}"'):]
        assert "Ei käytössä: otetaan käyttöön seuraavalla kirjautumisella" in row[
            :row.index("</tr>")]
        assert await me(own, service) == 401  # the reset ended their session
        r = await password_step(service, own, "ville@hel.fi")
        assert r.headers["Location"] == "/login/enrol"
    views = [v for _, v, _ in service.running.system.store.run(changes_logged)]
    assert views == [f"admin.staff.role:{ville}:lead", f"admin.staff.reset:{ville}"]


async def test_the_api_disables_enables_and_changes_roles(service: Service):
    admin = service.add_staff("admin@hel.fi", [], role="admin")
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    [ville] = ids(service, "ville@hel.fi")
    listed = (await service.get_json("/api/v1/staff", admin))["items"]
    assert {a["email"]: (a["role"], a["enrolled"], a["disabled"]) for a in listed} == {
        "admin@hel.fi": ("admin", True, False), "lead@hel.fi": ("lead", True, False),
        "ville@hel.fi": ("counsellor", True, False)}
    _, body = await service.post_json(f"/api/v1/staff/{ville}/disable", {}, admin, status=200)
    assert body is not None and body["disabled"] is True and body["id"] == ville
    async with service.http.get(service.url + "/api/v1/me",
                                headers=service.auth(token)) as r:
        assert (await assert_problem(r, 401))["code"] == "account.disabled"
    _, body = await service.post_json(f"/api/v1/staff/{ville}/enable", {}, admin, status=200)
    assert body is not None and body["disabled"] is False

    async def put(path: str, body: object, who: str) -> aiohttp.ClientResponse:
        return await service.http.put(service.url + path, json=body,
                                      headers=service.auth(who))

    async with await put(f"/api/v1/staff/{ville}/role", {"role": "auditor"}, admin) as r:
        assert r.status == 200 and (await r.json())["role"] == "auditor"
    assert (await service.get_json("/api/v1/me", token))["role"] == "auditor"
    for wrong in ({"role": "boss"}, {"role": 3}, {}, ["lead"]):
        async with await put(f"/api/v1/staff/{ville}/role", wrong, admin) as r:
            await assert_problem(r, 400)
    async with await put("/api/v1/staff/99999/role", {"role": "lead"}, admin) as r:
        await assert_problem(r, 404)
    await service.post_json("/api/v1/staff/99999/disable", {}, admin, status=404)
    for who in (lead, token):
        await service.get_json("/api/v1/staff", who, status=403)
        await service.post_json(f"/api/v1/staff/{ville}/disable", {}, who, status=403)
        async with await put(f"/api/v1/staff/{ville}/role", {"role": "admin"}, who) as r:
            await assert_problem(r, 403)
    assert (await service.get_json("/api/v1/me", token))["role"] == "auditor"
    spec = await service.get_json("/api/v1/openapi.json", admin)
    assert {"/api/v1/staff", "/api/v1/staff/{id}/disable", "/api/v1/staff/{id}/enable",
            "/api/v1/staff/{id}/role"} <= set(spec["paths"])


async def test_an_admin_cannot_disable_themself_or_drop_their_own_admin_role(
        service: Service):
    token = service.add_staff("admin@hel.fi", [], role="admin")
    [admin] = ids(service, "admin@hel.fi")
    async with browser(service) as http:
        await log_in(service, http, "admin@hel.fi")
        status, html = await page(http, service)
        own = html[html.index(f'id="staff-{admin}"'):]
        own = own[:own.index("</tr>")]
        assert "(sinä)" in own and "/disable" not in own and 'name="role"' not in own
        for path, form in ((f"/admin/staff/{admin}/disable", {}),
                           (f"/admin/staff/{admin}/role", {"role": "lead"}),
                           (f"/admin/staff/{admin}/role", {"role": "auditor"})):
            status, where, html = await submit(http, service, path, **form)
            assert status == 200 and "refused=staff.self_lockout" in where, (path, where)
            assert "organisaatio ei saa lukita itseään ulos" in html
            assert await me(http, service) == 200
        async with service.http.post(service.url + f"/api/v1/staff/{admin}/disable",
                                     headers=service.auth(token)) as r:
            assert (await assert_problem(r, 400))["code"] == "staff.self_lockout"
        async with service.http.put(service.url + f"/api/v1/staff/{admin}/role",
                                    json={"role": "counsellor"},
                                    headers=service.auth(token)) as r:
            assert (await assert_problem(r, 400))["code"] == "staff.self_lockout"
        async with http.get(service.url + "/api/v1/me") as r:
            assert (await r.json())["role"] == "admin"
    assert service.running.system.store.run(changes_logged) == []


async def test_leads_and_counsellors_are_refused_the_page_and_every_change(
        service: Service):
    service.add_staff("admin@hel.fi", [], role="admin")
    service.add_staff("lead@hel.fi", [], role="lead")
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    [admin, ville] = ids(service, "admin@hel.fi", "ville@hel.fi")
    for email in ("lead@hel.fi", "ville@hel.fi"):
        async with browser(service) as http:
            await log_in(service, http, email)
            _, inbox = await page(http, service, "/inbox")
            assert 'href="/admin/staff"' not in inbox  # no link in their menu
            status, html = await page(http, service)
            assert status == 403 and "Käyttäjätilejä hallitsevat vain ylläpitäjät." in html
            assert "ville@hel.fi" not in html
            csrf = await browser_csrf(service, http)
            for path, form in ((f"/admin/staff/{ville}/disable", {}),
                               (f"/admin/staff/{admin}/disable", {}),
                               (f"/admin/staff/{ville}/enable", {}),
                               (f"/admin/staff/{ville}/role", {"role": "admin"}),
                               (f"/admin/staff/{ville}/second-factor/reset", {})):
                status, _, html = await submit(http, service, path, csrf_token=csrf, **form)
                assert status == 403, (email, path)
                assert "Käyttäjätilejä hallitsevat vain ylläpitäjät." in html
    me_now = await service.get_json("/api/v1/me", token)  # nothing changed
    assert me_now["role"] == "counsellor"
    assert service.running.system.store.run(changes_logged) == []


async def test_the_forms_need_the_sessions_csrf_token(service: Service):
    service.add_staff("admin@hel.fi", [], role="admin")
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    [ville] = ids(service, "admin@hel.fi", "ville@hel.fi")[1:]
    async with browser(service) as http:
        await log_in(service, http, "admin@hel.fi")
        for form in ({}, {"csrf_token": "x" * 43}):
            async with http.post(service.url + f"/admin/staff/{ville}/disable", data=form,
                                 allow_redirects=False) as r:
                assert r.status == 403, form
        async with http.post(service.url + f"/api/v1/staff/{ville}/disable") as r:
            assert r.status == 403  # the session's API calls need it too (X-CSRF-Token)
    assert (await service.get_json("/api/v1/me", token))["email"] == "ville@hel.fi"
    assert service.running.system.store.run(changes_logged) == []
