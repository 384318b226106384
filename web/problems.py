"""Every error as a JSON problem body (RFC 9457) or a plain page; never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping

from aiohttp import web
from aiohttp.typedefs import Handler

from inbox.errors import Problem
from inbox.store import unreachable
from web.auth import PUBLIC_ASSETS
from web.pages import render_page

log = logging.getLogger(__name__)
STRICT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def problem_response(status: int, title: str, detail: str = "",
                     type_: str = "about:blank", code: str | None = None,
                     field: str | None = None) -> web.Response:
    body: dict[str, object] = {"type": type_, "title": title, "status": status,
                               "detail": detail}
    body.update({k: v for k, v in (("code", code), ("field", field)) if v})
    return web.json_response(body, status=status, content_type="application/problem+json")


def wants_html(request: web.Request) -> bool:
    return not request.path.startswith("/api/") and "text/html" in request.headers.get(
        "Accept", "")


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Problem as p:
        if p.status == 401 and wants_html(request):
            raise web.HTTPSeeOther(f"/login?next={request.path}") from p
        return problem_response(p.status, p.title, p.detail, p.type, p.code, p.field)
    except web.HTTPException as exc:
        if exc.status < 400 or wants_html(request):
            raise
        response = problem_response(exc.status, exc.reason, exc.text or "")
        if "Allow" in exc.headers:  # a 405 must list the allowed methods (RFC 9110)
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception as exc:
        if unreachable(exc):  # PostgreSQL restarting: say so, and the pool recovers by itself
            log.warning("database unreachable on %s %s: %s", request.method, request.path,
                        exc.__class__.__name__)
            response = (_unavailable_page(request) if wants_html(request) else problem_response(
                503, "Service unavailable", "the database cannot be reached; try again shortly",
                code="unavailable"))
            response.headers["Retry-After"] = "5"
            return response
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(500, "Internal error", "the error was logged")


def _unavailable_page(request: web.Request) -> web.Response:
    """A person in a browser gets a page in their language, not a JSON body; it needs
    nothing from the database (who they are is not known while it is away)."""
    response = render_page(request, "unavailable.html", None)
    response.set_status(503)
    return response


def _harden(headers: MutableMapping[str, str], path: str) -> None:
    headers.setdefault("Content-Security-Policy", STRICT_CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on our
    # own form posts, which the origin check must refuse. Other sites still get nothing.
    headers.setdefault("Referrer-Policy", "same-origin")
    if "frame-ancestors 'none'" in headers["Content-Security-Policy"]:
        headers.setdefault("X-Frame-Options", "DENY")  # older browsers; CSP says the rest
    # Personal data is never cached; the static assets hold none and may be.
    public = path.startswith(PUBLIC_ASSETS)
    headers.setdefault("Cache-Control", "public, max-age=3600" if public else "no-store")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects and HTML error pages are raised, not returned
        _harden(exc.headers, request.path)
        raise
    _harden(response.headers, request.path)
    return response
