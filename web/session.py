"""Log in and out: argon2 password check, a session cookie, a CSRF token per session; and
the staff member's UI language, which the login page's and the header's pickers set."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from inbox.staff import check_password, close_session, open_session, set_ui_language
from inbox.store import Store
from web.auth import PRINCIPAL, SESSION_COOKIE, require_staff
from web.pages import render_page
from web.ui_language import UI_LANGUAGES, asked_language, local_path, without_lang

LOGIN_CSRF_COOKIE = "yhteys_login"


def N_(message: str) -> str:
    """Marks a message id for the catalog; login.html translates it."""
    return message


FORM_EXPIRED = N_("The form expired. Try again.")
TOO_MANY = N_("Too many attempts. Wait a moment and try again.")
WRONG = N_("The email or password is wrong.")


@dataclass
class SessionRoutes:
    store: Store
    cookie_secure: bool
    allow: Callable[[str], bool]

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/login", self.form),
            web.post("/login", self.login),
            web.post("/logout", self.logout),
            web.post("/me/language", self.language),
        ]

    def _form(self, request: web.Request, error: str | None, status: int = 200
              ) -> web.Response:
        """The login page in the language asked for (`?lang=`) or the browser's."""
        token = secrets.token_urlsafe(24)
        response = render_page(request, "login.html", None, csrf_token=token, error=error,
                               next=local_path(request.query.get("next")),
                               chosen=asked_language(request))
        response.set_status(status)
        response.headers["Vary"] = "Accept-Language"
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict",
                            secure=self.cookie_secure, path="/login")
        return response

    async def form(self, request: web.Request) -> web.Response:
        return self._form(request, None)

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        sent, expected = str(form.get("csrf_token", "")), request.cookies.get(LOGIN_CSRF_COOKIE)
        if not expected or not hmac.compare_digest(sent, expected):
            return self._form(request, FORM_EXPIRED, 403)
        if not self.allow(request.remote or "?"):
            return self._form(request, TOO_MANY, 429)
        who = await asyncio.to_thread(check_password, self.store, str(form.get("email", "")),
                                      str(form.get("password", "")))
        if who is None:
            return self._form(request, WRONG, 401)
        token, _csrf = await self.store.call(open_session, who)
        chosen = str(form.get("language", ""))
        if chosen in UI_LANGUAGES:  # picked on the login page: their language from now on
            await self.store.call(set_ui_language, who, chosen)
        response = web.HTTPSeeOther(local_path(str(form.get("next", "/"))))
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax",
                            secure=self.cookie_secure, path="/")
        response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
        raise response

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
