"""Staff authentication: bearer tokens for the API, session cookies + CSRF for browsers."""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from inbox.access import Principal
from inbox.errors import Problem, unauthorized
from inbox.staff import principal_for_session, principal_for_token
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


def auth_middleware(store: Store, allowed_origins: tuple[str, ...]) -> Middleware:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        cookie = request.cookies.get(SESSION_COOKIE)
        if header.lower().startswith("bearer "):
            who = await store.call(principal_for_token, header[7:].strip())
            if who is None:
                raise unauthorized("the bearer token is not valid")
            request[PRINCIPAL] = who
        elif cookie:
            found = await store.call(principal_for_session, cookie)
            if found is not None:
                request[PRINCIPAL], request[CSRF] = found
                if request.method not in SAFE_METHODS:
                    await _check_browser_write(request, found[1], allowed_origins)
        return await handler(request)

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
