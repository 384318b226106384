"""Log in and out: the password (argon2), then the second factor (a TOTP code or a recovery
code; the first login enrols an authenticator app), a session cookie and a CSRF token per
session; and the staff member's UI language, which the login page's and the header's
pickers set. Failed steps count in the database throttle (inbox/throttle.py); `allow` is a
per-process flood guard in front of it (attempts per address per minute, failed or not).
The demo accounts of `yhteys demo` skip the second factor, and only they, and only on the
embedded default (`AccountRules.demo_logins`)."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from sqlalchemy.orm import Session

from inbox.accounts import DEFAULT_RULES, AccountRules, begin_login, pending_login, principal_of
from inbox.models import Staff
from inbox.staff import (
    Account,
    check_password,
    close_session,
    demo_accounts_exist,
    open_session,
    set_ui_language,
)
from inbox.store import Store
from inbox.throttle import clear_failures, locked, record_failure
from inbox.totp import check_code, enrol, grouped, new_secret, open_secret, qr_svg, seal_secret
from web.auth import PRINCIPAL, SESSION_COOKIE, require_staff
from web.case_words import N_
from web.pages import render_page
from web.ui_language import UI_LANGUAGES, asked_language, local_path, without_lang

LOGIN_CSRF_COOKIE = "yhteys_login"
PENDING_COOKIE = "yhteys_pending"  # the login half way, between password and code


FORM_EXPIRED = N_("The form expired. Try again.")
TOO_MANY = N_("Too many attempts. Wait a moment and try again.")
WRONG = N_("The email or password is wrong.")
ENDED = ("idle", "expired", "disabled")  # why a session ended (?why= on the login page)


@dataclass(frozen=True)
class Pending:
    staff_id: int
    email: str
    stage: str  # "code" | "enrol"
    csrf: str
    next_path: str
    language: str | None
    secret: str | None  # the secret being enrolled


def _pending(session: Session, token: str) -> Pending | None:
    row = pending_login(session, token)
    staff = session.get(Staff, row.staff_id) if row else None
    if row is None or staff is None:
        return None
    secret = open_secret(session, row.pending_secret) if row.pending_secret else None
    return Pending(row.staff_id, staff.email, row.stage, row.csrf_token,
                   row.next_path or "/", row.language, secret)


def _minutes(left: timedelta) -> int:
    return max(1, -(-int(left.total_seconds()) // 60))  # rounded up: never "0 minutes"


@dataclass
class SessionRoutes:
    store: Store
    cookie_secure: bool
    allow: Callable[[str], bool]
    rules: AccountRules = DEFAULT_RULES

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/login", self.form),
            web.post("/login", self.login),
            web.get("/login/code", self.code_form),
            web.post("/login/code", self.code),
            web.get("/login/enrol", self.enrol_form),
            web.post("/login/enrol", self.enrol),
            web.post("/logout", self.logout),
            web.post("/me/language", self.language),
        ]

    # --- step 1: the password ------------------------------------------------------------

    async def _form(self, request: web.Request, error: str | None, status: int = 200,
                    notice: dict[str, object] | None = None) -> web.Response:
        """The login page in the language asked for (`?lang=`) or the browser's."""
        token = secrets.token_urlsafe(24)
        why = request.query.get("why")
        response = render_page(request, "login.html", None, csrf_token=token, error=error,
                               next=local_path(request.query.get("next")),
                               chosen=asked_language(request),
                               demo=self.rules.demo_logins
                               and await self.store.call(demo_accounts_exist),
                               idle_minutes=int(self.rules.session_idle.total_seconds() // 60),
                               max_hours=int(self.rules.session_max.total_seconds() // 3600),
                               notice=notice or ({"code": f"session.{why}"} if why in ENDED
                                                 else None))
        response.set_status(status)
        response.headers["Vary"] = "Accept-Language"
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict",
                            secure=self.cookie_secure, path="/login")
        return response

    async def form(self, request: web.Request) -> web.Response:
        return await self._form(request, None)

    def _locked_notice(self, found: tuple[str, timedelta]) -> dict[str, object]:
        kind, left = found
        return {"code": f"locked.{kind}", "minutes": _minutes(left)}

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        sent, expected = str(form.get("csrf_token", "")), request.cookies.get(LOGIN_CSRF_COOKIE)
        if not expected or not hmac.compare_digest(sent, expected):
            return await self._form(request, FORM_EXPIRED, 403)
        address = request.remote or "?"
        if not self.allow(address):
            return await self._form(request, TOO_MANY, 429)
        email = str(form.get("email", "")).strip().lower()
        lock = await self.store.call(locked, email, address, self.rules)
        if lock is not None:
            return await self._form(request, None, 429, self._locked_notice(lock))
        account = await asyncio.to_thread(check_password, self.store, email,
                                          str(form.get("password", "")))
        if account is None:
            await self.store.call(record_failure, email, address, self.rules)
            lock = await self.store.call(locked, email, address, self.rules)
            return await self._form(request, None if lock else WRONG, 401,
                                    self._locked_notice(lock) if lock else None)
        if account.disabled:
            return await self._form(request, None, 403, {"code": "account.disabled"})
        next_path = local_path(str(form.get("next", "/")))
        chosen = str(form.get("language", ""))
        language = chosen if chosen in UI_LANGUAGES else None
        if account.demo and self.rules.demo_logins:
            return await self._live(account, None, next_path, language)
        return await self._second_step(request, account, next_path, language)

    async def _second_step(self, request: web.Request, account: Account, next_path: str,
                           language: str | None) -> web.Response:
        stage = "code" if account.enrolled else "enrol"
        secret = None if account.enrolled else new_secret()

        def begin(session: Session) -> str:
            sealed = seal_secret(session, secret) if secret else None
            return begin_login(session, account.who.staff_id, stage, next_path, language,
                               sealed)

        token = await self.store.call(begin)
        lang = asked_language(request)
        response = web.HTTPSeeOther(f"/login/{stage}" + (f"?lang={lang}" if lang else ""))
        response.set_cookie(PENDING_COOKIE, token, httponly=True, samesite="Strict",
                            secure=self.cookie_secure, path="/login")
        response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
        raise response

    async def _live(self, account: Account, pending: str | None, next_path: str,
                    language: str | None, page: web.Response | None = None
                    ) -> web.Response:
        """The login is complete: a new session cookie, the language picked on the way."""
        token, _csrf = await self.store.call(open_session, account.who, self.rules, pending)
        await self.store.call(clear_failures, account.who.email)
        if language is not None:  # picked on the login page: their language from now on
            await self.store.call(set_ui_language, account.who, language)
        response = page or web.Response(status=303, headers={"Location": next_path})
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax",
                            secure=self.cookie_secure, path="/")
        response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
        response.del_cookie(PENDING_COOKIE, path="/login")
        return response

    # --- step 2: the second factor -------------------------------------------------------

    async def _pending_or_login(self, request: web.Request, stage: str) -> tuple[str, Pending]:
        token = request.cookies.get(PENDING_COOKIE, "")
        pending = await self.store.call(_pending, token) if token else None
        if pending is None or pending.stage != stage:
            lang = asked_language(request)
            raise web.HTTPSeeOther("/login" + (f"?lang={lang}" if lang else ""))
        return token, pending

    def _step_page(self, request: web.Request, template: str, pending: Pending,
                   status: int = 200, notice: dict[str, object] | None = None,
                   **context: object) -> web.Response:
        if pending.secret is not None and "codes" not in context:
            context.update(secret=grouped(pending.secret),
                           qr=qr_svg(pending.secret, pending.email))
        response = render_page(request, template, None, csrf_token=pending.csrf,
                               notice=notice, email=pending.email, **context)
        response.set_status(status)
        response.headers["Vary"] = "Accept-Language"
        return response

    async def _checked_post(self, request: web.Request, stage: str
                            ) -> tuple[str, Pending, str, dict[str, object] | None]:
        """The pending login, the code sent, and a refusal before any check of it."""
        token, pending = await self._pending_or_login(request, stage)
        form = await request.post()
        if not hmac.compare_digest(str(form.get("csrf_token", "")), pending.csrf):
            return token, pending, "", {"code": "form.expired"}
        lock = await self.store.call(locked, pending.email, request.remote or "?", self.rules)
        code = str(form.get("code", "")).strip() or str(form.get("recovery", ""))
        return token, pending, code, (
            self._locked_notice(lock) if lock else None)

    async def _failed(self, request: web.Request, pending: Pending, code: str
                      ) -> dict[str, object]:
        await self.store.call(record_failure, pending.email, request.remote or "?",
                              self.rules)
        lock = await self.store.call(locked, pending.email, request.remote or "?", self.rules)
        return self._locked_notice(lock) if lock else {"code": code}

    async def code_form(self, request: web.Request) -> web.Response:
        _token, pending = await self._pending_or_login(request, "code")
        return self._step_page(request, "login_code.html", pending)

    async def code(self, request: web.Request) -> web.Response:
        token, pending, code, refused = await self._checked_post(request, "code")
        if refused is not None:
            return self._step_page(request, "login_code.html", pending, 429 if str(
                refused["code"]).startswith("locked") else 403, refused)
        verdict = await self.store.call(check_code, pending.staff_id, code)
        if verdict != "ok":
            notice = await self._failed(request, pending, f"code.{verdict}")
            return self._step_page(request, "login_code.html", pending, 401, notice)
        return await self._finish(token, pending)

    async def _finish(self, token: str, pending: Pending,
                      page: web.Response | None = None) -> web.Response:
        account = await self.store.call(_account_of, pending.staff_id)
        return await self._live(account, token, local_path(pending.next_path),
                                pending.language, page)

    async def enrol_form(self, request: web.Request) -> web.Response:
        _token, pending = await self._pending_or_login(request, "enrol")
        return self._step_page(request, "enrol.html", pending)

    async def enrol(self, request: web.Request) -> web.Response:
        token, pending, code, refused = await self._checked_post(request, "enrol")
        if refused is not None:
            return self._step_page(request, "enrol.html", pending, 429 if str(
                refused["code"]).startswith("locked") else 403, refused)

        def first_code(session: Session) -> list[str] | None:
            row = pending_login(session, token)
            if row is None or row.pending_secret is None:
                return None
            return enrol(session, pending.staff_id, row.pending_secret, code)

        codes = await self.store.call(first_code)
        if codes is None:
            notice = await self._failed(request, pending, "code.wrong")
            return self._step_page(request, "enrol.html", pending, 401, notice)
        page = self._step_page(request, "enrol.html", pending, codes=codes,
                               next=local_path(pending.next_path))
        return await self._finish(token, pending, page)

    # --- out, and the language ------------------------------------------------------------

    async def logout(self, request: web.Request) -> web.Response:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie and request.get(PRINCIPAL) is not None:
            await self.store.call(close_session, cookie)
        response = web.HTTPSeeOther("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response

    async def language(self, request: web.Request) -> web.Response:
        """The header's language picker: stores the choice, back to the same page in it."""
        who = require_staff(request)
        form = await request.post()
        await self.store.call(set_ui_language, who, str(form.get("language", "")))
        raise web.HTTPSeeOther(without_lang(local_path(str(form.get("next", "")), "/inbox")))


def _account_of(session: Session, staff_id: int) -> Account:
    staff = session.get(Staff, staff_id)
    assert staff is not None
    return Account(principal_of(staff), staff.demo, staff.totp_secret is not None,
                   staff.disabled_at is not None)
