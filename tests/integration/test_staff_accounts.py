"""Staff accounts (issue 9 part 4) over HTTP and the CLI: the second factor (enrolment with
a QR code, codes, replay refused, recovery codes once, an admin's reset), the login
throttle per account and per address across a restart, named expiring revocable tokens,
idle and absolute session timeouts, and disable/enable/role stopping what is running."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from html import unescape

import aiohttp
import pyotp
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from yarl import URL

from inbox.accounts import principal_of, staff_by_email
from inbox.errors import Problem
from inbox.models import ApiToken, LoginFailure, StaffSession
from inbox.staff import change_account, mark_demo, staff_id_of
from inbox.totp import check_code, enrol, seal_secret
from tests.conftest import BACKEND, Service, last_code, totp_code, totp_secret
from tests.integration.test_cli import yhteys
from tests.integration.test_web_security import PASSWORD, assert_problem, browser, log_in

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = re.compile(r'<code id="secret">([A-Z2-7 ]+)</code>')
RECOVERY = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")


async def password_step(service: Service, http: aiohttp.ClientSession, email: str,
                        password: str = PASSWORD, lang: str = "") -> aiohttp.ClientResponse:
    async with http.get(f"{service.url}/login{lang}") as r:
        found = CSRF.search(await r.text())
        assert found
    form = {"email": email, "password": password, "csrf_token": found.group(1),
            "next": "/inbox"}
    async with http.post(f"{service.url}/login{lang}", data=form,
                         allow_redirects=False) as r:
        await r.read()
        return r


async def code_step(service: Service, http: aiohttp.ClientSession, path: str, code: str,
                    field: str = "code") -> tuple[aiohttp.ClientResponse, str]:
    async with http.get(service.url + path) as r:
        html = await r.text()
        assert r.status == 200, html
    form = {"csrf_token": CSRF.search(html).group(1), field: code}  # type: ignore[union-attr]
    async with http.post(service.url + path, data=form, allow_redirects=False) as r:
        return r, await r.text()


async def me(http: aiohttp.ClientSession, service: Service) -> int:
    async with http.get(service.url + "/api/v1/me") as r:
        return r.status


async def test_first_login_enrols_then_codes_replays_and_recovery_codes(service: Service):
    service.add_staff("ville@hel.fi", ["lantinen"], second_factor=False)
    async with browser(service) as http:
        r = await password_step(service, http, "ville@hel.fi")
        assert (r.status, r.headers["Location"]) == (303, "/login/enrol")
        assert await me(http, service) == 401  # the password alone opens nothing
        async with http.get(service.url + "/login/enrol") as page:
            html = await page.text()
        assert "<svg" in html and "Ota toinen tunnistustekijä käyttöön" in html
        secret = SECRET.search(html).group(1).replace(" ", "")  # type: ignore[union-attr]
        totp = pyotp.TOTP(secret)
        wrong = "000000" if totp.now() != "000000" else "111111"
        r, html = await code_step(service, http, "/login/enrol", wrong)
        assert r.status == 401 and "Koodi on väärä" in html
        # The next step's code (accepted a step early) stays matchable for a minute at
        # least: the replay below meets "used already", never "wrong" for a late window.
        used_step = int(time.time() // 30) + 1
        used = totp.at(used_step * 30)
        r, html = await code_step(service, http, "/login/enrol", used)
        assert r.status == 200 and "Tallenna varakoodisi" in html
        codes = RECOVERY.findall(html)
        assert len(set(codes)) == 10 and 'href="/inbox"' in html
        assert await me(http, service) == 200
    async with browser(service) as http:  # the same code again, in its window: refused
        r = await password_step(service, http, "ville@hel.fi")
        assert r.headers["Location"] == "/login/code"
        r, html = await code_step(service, http, "/login/code", totp.at((used_step - 1) * 30))
        assert r.status == 401, html  # a step before the one used: refused too
        r, html = await code_step(service, http, "/login/code", used)
        assert r.status == 401 and "Tämä koodi on jo käytetty" in html, html
        r, html = await code_step(service, http, "/login/code", codes[0].upper(), "recovery")
        assert r.status == 303 and r.headers["Location"] == "/inbox", html
        assert await me(http, service) == 200
    async with browser(service) as http:  # a recovery code works once
        await password_step(service, http, "ville@hel.fi")
        r, html = await code_step(service, http, "/login/code", codes[0], "recovery")
        assert r.status == 401 and "Koodi on väärä" in html
        r, _ = await code_step(service, http, "/login/code", codes[1], "recovery")
        assert r.status == 303


async def test_a_code_replayed_within_its_window_is_refused(service: Service):
    service.add_staff("ville@hel.fi", ["lantinen"])
    async with browser(service) as http:
        assert (await log_in(service, http, "ville@hel.fi")).status == 303
    used = last_code(service.url, "ville@hel.fi")  # the very code that login took
    async with browser(service) as http:
        await password_step(service, http, "ville@hel.fi", lang="?lang=en")
        r, html = await code_step(service, http, "/login/code?lang=en", used)
        assert r.status == 401 and "This code was used already." in html, html
        assert await me(http, service) == 401


@pytest.mark.parametrize("kind", ["code", "recovery"])
async def test_two_logins_racing_with_one_code_let_one_in(service: Service, kind: str):
    """The second login reads the code as unused while the first has taken it but not yet
    committed: the use is a conditional UPDATE, so the second still loses (on PostgreSQL
    it waits for the first and then finds the code used; SQLite's writers are serial)."""
    service.add_staff("ville@hel.fi", ["lantinen"], second_factor=False)
    store = service.running.system.store
    ville = store.run(staff_id_of, "ville@hel.fi")
    totp = pyotp.TOTP(totp_secret("ville@hel.fi"))
    step = int(time.time() // 30)
    codes = store.run(lambda s: enrol(s, ville, seal_secret(s, totp.secret),
                                      totp.at(step * 30)))
    assert codes is not None
    code = totp.at((step + 1) * 30) if kind == "code" else codes[0]
    second: concurrent.futures.Future[str] = concurrent.futures.Future()

    def other_login() -> None:
        second.set_result(store.run(check_code, ville, code))

    with store.unit() as session:
        assert check_code(session, ville, code) == "ok"  # taken, not committed yet
        threading.Thread(target=other_login, daemon=True).start()
        with contextlib.suppress(concurrent.futures.TimeoutError):
            second.result(timeout=2)  # the old read-then-write answered "ok" here
    assert second.result(timeout=30) != "ok"


def test_an_unknown_account_change_is_refused_and_resets_nothing(service: Service):
    service.add_staff("ville@hel.fi", ["lantinen"])
    service.add_staff("admin@hel.fi", [], role="admin")
    store = service.running.system.store
    ville = store.run(staff_id_of, "ville@hel.fi")

    def change(session: Session, what: str) -> dict:
        admin = principal_of(staff_by_email(session, "admin@hel.fi"))
        return change_account(session, admin, ville, what)

    with pytest.raises(Problem) as refused:
        store.run(change, "rest")
    assert refused.value.status == 400 and "unknown change 'rest'" in str(refused.value.detail)
    assert store.run(lambda s: staff_by_email(s, "ville@hel.fi").totp_secret) is not None
    assert store.run(change, "reset")["enrolled"] is False  # the change it meant


async def test_an_admin_resets_a_second_factor_and_a_lead_may_not(service: Service):
    service.add_staff("ville@hel.fi", ["lantinen"])
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    admin = service.add_staff("admin@hel.fi", [], role="admin")
    ville_id = (await service.get_json("/api/v1/me", service.tokens["ville@hel.fi"]))["id"]
    async with browser(service) as http:
        assert (await log_in(service, http, "ville@hel.fi")).status == 303
        path = f"/api/v1/staff/{ville_id}/second-factor/reset"
        await service.post_json(path, {}, lead, status=403)
        _, body = await service.post_json(path, {}, admin, status=200)
        assert body == {"id": ville_id, "second_factor": "reset"}
        await service.post_json("/api/v1/staff/999999/second-factor/reset", {}, admin,
                                status=404)  # no such account, as the admin page says
        assert await me(http, service) == 401  # the reset ended the session
        r = await password_step(service, http, "ville@hel.fi")
        assert r.headers["Location"] == "/login/enrol"
    result = await asyncio.to_thread(yhteys, service.env, "staff", "reset-2fa", "lead@hel.fi")
    assert result.returncode == 0, result.stderr
    async with browser(service) as http:
        assert (await password_step(service, http, "lead@hel.fi")).headers[
            "Location"] == "/login/enrol"


async def test_an_account_is_locked_after_five_failures_and_stays_locked_after_a_restart(
        service: Service):
    service.add_staff("ville@hel.fi", ["lantinen"])
    async with browser(service) as http:
        for _ in range(4):
            assert (await password_step(service, http, "ville@hel.fi", "wrong")).status == 401
        await password_step(service, http, "ville@hel.fi")  # the fifth: a wrong code
        r, html = await code_step(service, http, "/login/code", "000001")
        assert r.status == 401 and "tunnus on lukittu vielä 15 minuutin ajan" in html
    await service.restart()
    async with browser(service) as http:
        r = await password_step(service, http, "ville@hel.fi", lang="?lang=sv")
        assert r.status == 429
        assert await me(http, service) == 401
    async with browser(service) as http:
        async with http.get(service.url + "/login?lang=sv") as page:
            found = CSRF.search(await page.text())
        form = {"email": "ville@hel.fi", "password": PASSWORD, "csrf_token": found.group(1)}
        async with http.post(service.url + "/login?lang=sv", data=form) as page:
            html = await page.text()
        assert page.status == 429
        assert "kontot är låst i 15 minuter till" in html
    # The lock ends when the window has passed (the failures moved 15 minutes back).
    store = service.running.system.store
    store.run(lambda s: s.execute(update(LoginFailure).values(
        at=datetime.now(UTC) - timedelta(minutes=15, seconds=1))))
    async with browser(service) as http:
        assert (await log_in(service, http, "ville@hel.fi")).status == 303


async def test_an_address_is_locked_after_its_failures_across_a_restart(service: Service):
    await service.restart(YHTEYS_LOGIN_ADDRESS_FAILURES="3")
    service.add_staff("ville@hel.fi", ["lantinen"])
    async with browser(service) as http:
        for email in ("a@hel.fi", "b@hel.fi", "c@hel.fi"):  # three accounts, one address
            await password_step(service, http, email, "wrong")
    await service.restart()
    async with browser(service) as http:
        async with http.get(service.url + "/login?lang=en") as page:
            found = CSRF.search(await page.text())
        form = {"email": "ville@hel.fi", "password": PASSWORD, "csrf_token": found.group(1)}
        async with http.post(service.url + "/login?lang=en", data=form) as page:
            html = unescape(await page.text())
        assert page.status == 429
        assert "from this address: logging in is locked for 15 more minutes" in html


async def test_tokens_have_names_expire_and_are_revoked_by_cli(service: Service):
    service.add_staff("ville@hel.fi", ["lantinen"])
    env = service.env
    made = await asyncio.to_thread(yhteys, env, "token", "create", "ville@hel.fi", "--name",
                                   "raportit", "--days", "1")
    token = made.stdout.strip()
    assert made.returncode == 0 and token.startswith("yht_")
    assert (await service.get_json("/api/v1/me", token))["email"] == "ville@hel.fi"
    listed = await asyncio.to_thread(yhteys, env, "token", "list", "ville@hel.fi")
    line = next(ln for ln in listed.stdout.splitlines() if "raportit" in ln)
    assert "active" in line and "last used 20" in line
    token_id = line.split()[0]
    revoked = await asyncio.to_thread(yhteys, env, "token", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    async with service.http.get(service.url + "/api/v1/me", headers=service.auth(token)) as r:
        assert (await assert_problem(r, 401))["code"] == "token.revoked"
    assert "revoked" in (await asyncio.to_thread(yhteys, env, "token", "list",
                                                 "ville@hel.fi")).stdout
    # Expiry: a token whose time has passed.
    other = (await asyncio.to_thread(yhteys, env, "token", "create", "ville@hel.fi")).stdout
    service.running.system.store.run(lambda s: s.execute(update(ApiToken).values(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))))
    async with service.http.get(service.url + "/api/v1/me",
                                headers=service.auth(other.strip())) as r:
        assert (await assert_problem(r, 401))["code"] == "token.expired"
    bad = await asyncio.to_thread(yhteys, env, "token", "revoke", "999999")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


async def test_tokens_page_makes_shows_once_and_revokes(service: Service):
    service.add_staff("ville@hel.fi", ["lantinen"])
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    async with browser(service) as http:
        await log_in(service, http, "ville@hel.fi")
        async with http.get(service.url + "/me/tokens?lang=en") as r:
            html = await r.text()
        csrf = CSRF.search(html).group(1)  # type: ignore[union-attr]
        assert "tests" in html  # the helper's token, by name
        async with http.post(service.url + "/me/tokens?lang=en",
                             data={"csrf_token": csrf, "name": "skripti", "days": "30"}) as r:
            html = await r.text()
            assert r.status == 201
        made = re.search(r'<code id="new-token">(yht_[\w-]+)</code>', html).group(1)  # type: ignore[union-attr]
        assert "The new token is shown only now" in html
        assert (await service.get_json("/api/v1/me", made))["email"] == "ville@hel.fi"
        async with http.get(service.url + "/me/tokens?lang=en") as r:
            html = await r.text()
        assert made not in html and "skripti" in html
        ids = re.findall(r'action="/me/tokens/(\d+)/revoke', html)
        # Irma cannot revoke Ville's token.
        async with service.http.post(f"{service.url}/me/tokens/{ids[0]}/revoke",
                                     headers=service.auth(irma), allow_redirects=False) as r:
            assert r.status == 404
        async with http.post(f"{service.url}/me/tokens/{ids[0]}/revoke?lang=en",
                             data={"csrf_token": csrf}) as r:
            html = await r.text()
        assert "revoked" in html
        async with service.http.get(service.url + "/api/v1/me",
                                    headers=service.auth(made)) as r:
            assert (await assert_problem(r, 401))["code"] == "token.revoked"
        async with http.post(service.url + "/me/tokens",
                             data={"csrf_token": csrf, "name": "", "days": "30"}) as r:
            assert r.status == 400
        async with http.post(service.url + "/me/tokens?lang=en",
                             data={"csrf_token": csrf, "name": "vuosi", "days": "366"}) as r:
            assert r.status == 400 and "A token lives 1 to 365 days." in await r.text()
    # One limit, the page's and the operator's: the CLI refuses what the page refuses.
    long = await asyncio.to_thread(yhteys, service.env, "token", "create", "ville@hel.fi",
                                   "--days", "366")
    assert long.returncode == 2 and "a token lives 1 to 365 days" in long.stderr


def _age_sessions(session: Session, **values: object) -> None:
    session.execute(update(StaffSession).where(StaffSession.stage == "live").values(**values))


async def test_idle_and_absolute_session_timeouts_send_the_browser_to_login(service: Service):
    service.add_staff("ville@hel.fi", ["lantinen"])
    store = service.running.system.store
    async with browser(service) as http:
        await log_in(service, http, "ville@hel.fi")
        store.run(_age_sessions, last_seen_at=datetime.now(UTC) - timedelta(minutes=29))
        assert await me(http, service) == 200  # 29 minutes idle: still on
        store.run(_age_sessions, last_seen_at=datetime.now(UTC) - timedelta(minutes=31))
        async with http.get(service.url + "/inbox", headers={"Accept": "text/html"},
                            allow_redirects=False) as r:
            assert r.status == 303
            sent_to = URL(r.headers["Location"])
            assert (sent_to.path, dict(sent_to.query)) == ("/login", {"why": "idle",
                                                                      "next": "/inbox"})
        async with http.get(service.url + r.headers["Location"]) as page:
            html = await page.text()
        assert "Sinut kirjattiin ulos, koska et tehnyt mitään 30 minuuttiin." in html
    async with browser(service) as http:
        await log_in(service, http, "ville@hel.fi")
        store.run(_age_sessions, expires_at=datetime.now(UTC) - timedelta(seconds=1),
                  last_seen_at=datetime.now(UTC))
        async with http.get(service.url + "/api/v1/me") as r:
            assert (await assert_problem(r, 401))["code"] == "session.expired"
        async with http.get(service.url + "/login?why=expired&lang=en") as page:
            assert "A session lasts at most 10 hours." in await page.text()


async def test_disable_enable_and_role_from_the_cli_act_at_once(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    env = service.env
    async with browser(service) as http:
        await log_in(service, http, "ville@hel.fi")
        assert await me(http, service) == 200
        role = await asyncio.to_thread(yhteys, env, "staff", "role", "ville@hel.fi", "lead")
        assert role.returncode == 0, role.stderr
        async with http.get(service.url + "/api/v1/me") as r:
            assert (await r.json())["role"] == "lead"  # the live session, at once
        off = await asyncio.to_thread(yhteys, env, "staff", "disable", "ville@hel.fi")
        assert off.returncode == 0, off.stderr
        assert await me(http, service) == 401
        async with service.http.get(service.url + "/api/v1/me",
                                    headers=service.auth(token)) as r:
            assert (await assert_problem(r, 401))["code"] == "account.disabled"
    async with browser(service) as http:
        async with http.get(service.url + "/login") as page:
            found = CSRF.search(await page.text())
        form = {"email": "ville@hel.fi", "password": PASSWORD, "csrf_token": found.group(1)}
        async with http.post(service.url + "/login", data=form) as page:
            assert page.status == 403
            assert "Tämä tunnus on poistettu käytöstä" in await page.text()
    listed = (await asyncio.to_thread(yhteys, env, "staff", "list")).stdout
    assert re.search(r"ville@hel.fi\s+lead\s+2fa:yes\s+disabled", listed), listed
    on = await asyncio.to_thread(yhteys, env, "staff", "enable", "ville@hel.fi")
    assert on.returncode == 0
    assert (await service.get_json("/api/v1/me", token))["role"] == "lead"
    bad = await asyncio.to_thread(yhteys, env, "staff", "disable", "nobody@hel.fi")
    assert bad.returncode == 2 and "no staff member" in bad.stderr


async def test_a_demo_row_on_a_shared_database_still_needs_the_second_factor(
        service: Service):
    """The `demo` flag is honoured only where `yhteys demo` may run, the embedded default:
    on PostgreSQL a staff row marked demo (by hand, or copied from a trial) gets no login
    without a code, and the login page does not call the service a demo."""
    service.add_staff("demo@hel.fi", ["lantinen"])
    service.running.system.store.run(mark_demo, "demo@hel.fi")
    async with browser(service) as http:
        async with http.get(service.url + "/login") as page:
            assert ("Tämä on demo." in await page.text()) == (BACKEND != "postgres")
        r = await password_step(service, http, "demo@hel.fi")
        if BACKEND != "postgres":
            assert (r.status, r.headers["Location"]) == (303, "/inbox")
            return
        assert (r.status, r.headers["Location"]) == (303, "/login/code")
        assert await me(http, service) == 401  # the password alone opens nothing
        r, _ = await code_step(service, http, "/login/code",
                               await totp_code(service.url, "demo@hel.fi"))
        assert r.status == 303 and await me(http, service) == 200


async def test_demo_accounts_skip_the_second_factor_and_only_they(service: Service):
    result = await asyncio.to_thread(yhteys, service.env, "demo")
    if BACKEND == "postgres":  # `yhteys demo` runs on the embedded default only
        assert result.returncode == 2 and "only on the embedded default" in result.stderr
        return
    logins = dict(line.split() for line in result.stdout.splitlines()[1:])
    service.add_staff("ville@hel.fi", ["lantinen"])
    async with browser(service) as http:
        async with http.get(service.url + "/login") as page:
            assert "Tämä on demo." in await page.text()
        email = "itainen@demo.yhteys.localhost"
        r = await password_step(service, http, email, logins[email])
        assert (r.status, r.headers["Location"]) == (303, "/inbox")
        assert await me(http, service) == 200
    async with browser(service) as http:
        r = await password_step(service, http, "ville@hel.fi")
        assert r.headers["Location"] == "/login/code"  # a real account still needs a code
        r, _ = await code_step(service, http, "/login/code",
                               await totp_code(service.url, "ville@hel.fi"))
        assert r.status == 303


async def test_a_requests_token_check_reads_the_staff_member_and_areas_at_once(
        service: Service):
    """Every API request checks its token first: one query gives the token, the staff
    member and their areas (the relationship's own load was a second round trip)."""
    from sqlalchemy import event

    from inbox.accounts import token_check

    token = service.add_staff("ville@hel.fi", ["lantinen", "itainen"])
    store = service.running.system.store
    store.run(token_check, token)  # its last-used time is written now, not next time
    selects: list[str] = []
    mine = threading.get_ident()  # the service's timers may query meanwhile: not counted

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if threading.get_ident() == mine and statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        who = store.run(token_check, token)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    assert who.areas == ("itainen", "lantinen")  # type: ignore[union-attr]
    assert len(selects) == 1, selects
