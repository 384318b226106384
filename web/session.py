"""Log in and out: argon2 password check, a session cookie, a CSRF token per session."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp_jinja2
from aiohttp import web

from inbox.staff import check_password, close_session, open_session
from inbox.store import Store
from web.auth import PRINCIPAL, SESSION_COOKIE

LOGIN_CSRF_COOKIE = "yhteys_login"


def _safe_next(target: str | None) -> str:
    """Only local paths, so the login form cannot be used to redirect elsewhere."""
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and target.isprintable()):
        return target
    return "/"


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
        ]

    def _form(self, request: web.Request, error: str | None, status: int = 200
              ) -> web.Response:
        token = secrets.token_urlsafe(24)
        response = aiohttp_jinja2.render_template(
            "login.html", request,
            {"csrf_token": token, "error": error, "next": _safe_next(request.query.get("next")),
             "who": None},
            status=status,
        )
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict",
                            secure=self.cookie_secure, path="/login")
        return response

    async def form(self, request: web.Request) -> web.Response:
        return self._form(request, None)

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        sent, expected = str(form.get("csrf_token", "")), request.cookies.get(LOGIN_CSRF_COOKIE)
        if not expected or not hmac.compare_digest(sent, expected):
            return self._form(request, "Lomake vanheni. Yritä uudelleen.", 403)
        if not self.allow(request.remote or "?"):
            return self._form(request, "Liian monta yritystä. Odota hetki ja yritä uudelleen.", 429)
        who = await asyncio.to_thread(check_password, self.store, str(form.get("email", "")),
                                      str(form.get("password", "")))
        if who is None:
            return self._form(request, "Sähköposti tai salasana on väärin.", 401)
        token, _csrf = await self.store.call(open_session, who)
        response = web.HTTPSeeOther(_safe_next(str(form.get("next", "/"))))
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
