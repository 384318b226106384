"""Staff authentication: bearer tokens for the API, session cookies + CSRF for browsers.

Every request reads the token's or session's staff row: a revoked or expired token, a
disabled account, a session idle or too old stop at once. An ended session sends a browser
to the login page, which says why (`?why=`); the API answers 401 with a problem code."""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from inbox.access import Principal
from inbox.accounts import DEFAULT_RULES, AccountRules, session_check, token_check, token_problem
from inbox.errors import Problem, unauthorized
from inbox.store import Store

SESSION_COOKIE = "yhteys_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PRINCIPAL = web.RequestKey("principal", Principal)
CSRF = web.RequestKey("csrf", str)


def require_staff(request: web.Request) -> Principal:
    """The authenticated staff member of this request, or 401."""
    who = request.get(PRINCIPAL)
    if who is None:
        raise unauthorized()
    return who


def _wants_html(request: web.Request) -> bool:
    return not request.path.startswith("/api/") and "text/html" in request.headers.get(
        "Accept", "")


# Styles, scripts and the npm packages: no personal data, so no one need be known to get
# them (a page's twenty assets cost no session checks, and load while the database is away).
PUBLIC_ASSETS = ("/static/", "/vendor/")


def auth_middleware(store: Store, allowed_origins: tuple[str, ...],
                    rules: AccountRules = DEFAULT_RULES) -> Middleware:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(PUBLIC_ASSETS):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        cookie = request.cookies.get(SESSION_COOKIE)
        ended: str | None = None
        if header.lower().startswith("bearer "):
            who = await store.call(token_check, header[7:].strip())
            if isinstance(who, str):
                raise token_problem(who)
            request[PRINCIPAL] = who
        elif cookie:
            found = await store.call(session_check, cookie, rules)
            if isinstance(found, tuple):
                request[PRINCIPAL], request[CSRF] = found
                if request.method not in SAFE_METHODS:
                    await _check_browser_write(request, found[1], allowed_origins)
            else:
                ended = found
        if ended is None:
            return await handler(request)
        try:
            return await handler(request)
        except Problem as p:
            if p.status != 401:
                raise
            if _wants_html(request):
                query = urlencode({"why": ended, "next": request.path_qs})
                response = web.HTTPSeeOther(f"/login?{query}")
                response.del_cookie(SESSION_COOKIE, path="/")
                raise response from p
            raise Problem(401, "Session ended", f"the session ended ({ended}): log in again",
                          code=f"session.{ended}") from p

    return authenticate


async def _check_browser_write(request: web.Request, csrf: str,
                               allowed_origins: tuple[str, ...]) -> None:
    """Cookie-authenticated writes need a matching Origin and the session's CSRF token."""
    origin = request.headers.get("Origin")
    own = f"{request.scheme}://{request.host}"
    if origin is not None and origin != own and origin not in allowed_origins:
        raise Problem(403, "Forbidden", f"origin {origin} may not write here")
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and request.content_type == "application/x-www-form-urlencoded":
        sent = str((await request.post()).get("csrf_token", ""))
    if not sent or not hmac.compare_digest(sent, csrf):
        raise Problem(403, "CSRF token missing or wrong", "reload the page and try again")
