"""Refusals into the use log: a signed-in staff member refused a record (403, or the 404
that hides another area's record) leaves a row saying who asked for what, and when."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from inbox.access import log_refusal
from inbox.errors import Problem
from inbox.store import Store
from web.auth import PRINCIPAL

REFUSED = (403, 404)


def _record(request: web.Request) -> tuple[str, int | None]:
    """Which kind of record the route names, and its id."""
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else request.path
    raw = request.match_info.get("id", "")
    record_id = int(raw) if raw.isdigit() and len(raw) < 12 else None
    kind = ("contact" if path.startswith(("/contacts/", "/api/v1/contacts/")) else
            "case" if path.startswith(("/cases/", "/api/v1/cases/")) else "other")
    return kind, record_id


def refusals_middleware(store: Store) -> Middleware:
    @web.middleware
    async def logged(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except (Problem, web.HTTPForbidden, web.HTTPNotFound) as refused:
            who = request.get(PRINCIPAL)
            status = refused.status if isinstance(refused, Problem) else refused.status_code
            if who is not None and status in REFUSED and request.match_info.route.resource:
                kind, record_id = _record(request)
                view = f"refused {request.method} {request.match_info.route.resource.canonical}"
                await store.call(log_refusal, who, view, kind, record_id)
            raise
    return logged
