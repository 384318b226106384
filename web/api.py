"""REST API /api/v1 for staff: contacts, their messages, replies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from inbox.access import Principal
from inbox.chat import transfer
from inbox.contacts import close, take
from inbox.errors import bad_request, json_object, whole_id
from inbox.outbound import Outbound
from inbox.ports import JobQueue
from inbox.raw import process_job_id, retry_raw, unparsed
from inbox.search import ContactQuery, find_contacts, folder_counts
from inbox.staff import set_availability
from inbox.store import Store
from inbox.views import contact_detail, contact_json
from router.identify import InvalidPhone, normalise_phone
from web.auth import CSRF, require_staff
from web.i18n import request_language
from web.routing_text import RoutingText


def path_id(request: web.Request, name: str = "id") -> int:
    return whole_id(request.match_info[name], name)


def _transfer(session: Session, who: Principal, contact_id: int, to_staff: int | None,
              to_area: str | None, note: str) -> dict[str, Any]:
    return contact_json(session, transfer(session, who, contact_id, to_staff, to_area, note))


def contact_query(request: web.Request, who: Principal) -> ContactQuery:
    q = request.query
    text = q.get("q", "")[:200]
    try:
        phone: str | None = normalise_phone(text) if text.strip() else None
    except InvalidPhone:
        phone = None
    numbers = {}
    for name in ("page", "waiting_min"):
        if q.get(name):
            raw = q[name]
            if not (raw.isascii() and raw.isdigit() and len(raw) <= 6):
                raise bad_request(f"{name} must be a whole number", field=name)
            numbers[name] = int(raw)
    assignee = q.get("assignee")
    if assignee and assignee not in ("me", "none") and not (
            assignee.isascii() and assignee.isdigit() and len(assignee) <= 10):
        raise bad_request("assignee must be a staff id, 'me' or 'none'", field="assignee")
    if q.get("urgency") and q["urgency"] not in ("urgent", "high", "normal"):
        raise bad_request("urgency must be urgent, high or normal", field="urgency")
    return ContactQuery(
        folder=q.get("folder", "all" if who.sees_all_areas else "areas"), q=text, phone=phone,
        channel=q.get("channel") or None, status=q.get("status") or None,
        urgency=q.get("urgency") or None, area=q.get("area") or None, assignee=assignee,
        waiting_min=numbers.get("waiting_min"), page=max(1, numbers.get("page", 1)))


def _found(session: Session, who: Principal, query: ContactQuery, now: datetime
           ) -> dict[str, Any]:
    contacts, total, capped = find_contacts(session, who, query, now)
    items = []
    for contact in contacts:
        item = contact_json(session, contact)
        item["waiting_s"] = (int((now - contact.updated_at).total_seconds())
                             if contact.status == "open" else None)
        items.append(item)
    return {"items": items, "total": total, "total_capped": capped, "page": query.page,
            "per_page": query.per_page, "pages": max(1, -(-total // query.per_page)),
            "counts": folder_counts(session, who, now)}


def reader_language(request: web.Request) -> str:
    return request_language(request.query.get("lang"), request.headers.get("Accept-Language"))


@dataclass
class ContactsApi:
    store: Store
    outbound: Outbound
    text: RoutingText
    jobs: JobQueue | None = None  # to put mail kept for manual handling back in line

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/me", self.me),
            web.post("/api/v1/me/availability", self.availability),
            web.get("/api/v1/contacts", self.list),
            web.get("/api/v1/contacts/{id}", self.detail),
            web.post("/api/v1/contacts/{id}/replies", self.reply),
            web.post("/api/v1/contacts/{id}/take", self.take),
            web.post("/api/v1/contacts/{id}/close", self.close),
            web.post("/api/v1/contacts/{id}/transfer", self.transfer),
            web.post("/api/v1/contacts/{id}/messages/{mid}/retry", self.retry),
            web.get("/api/v1/unparsed", self.unparsed),
            web.post("/api/v1/unparsed/{id}/retry", self.retry_unparsed),
        ]

    async def me(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        return web.json_response({"id": who.staff_id, "email": who.email, "name": who.name,
                                  "role": who.role, "areas": list(who.areas),
                                  "available": who.available,
                                  "ui_language": who.ui_language,
                                  "csrf_token": request.get(CSRF)})

    async def availability(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        available = (await json_object(request.json)).get("available")
        if not isinstance(available, bool):
            raise bad_request("available must be true or false")
        await self.store.call(set_availability, who, available)
        return web.json_response({"available": available})

    async def list(self, request: web.Request) -> web.Response:
        """Search and filters (inbox/search.py): ?q=&channel=&status=&urgency=&area=
        &assignee=&waiting_min=&page=; counts per folder of open contacts."""
        who = require_staff(request)
        query = contact_query(request, who)
        now = datetime.now(UTC)
        found = await self.store.call(_found, who, query, now)
        lang = reader_language(request)
        return web.json_response({**found, "items": [self.text.contact(lang, c)
                                                     for c in found["items"]]})

    async def _detail(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        detail = await self.store.call(contact_detail, who, path_id(request))
        return web.json_response(self.text.contact(reader_language(request), detail))

    async def detail(self, request: web.Request) -> web.Response:
        return await self._detail(request)

    async def reply(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        body = await json_object(request.json)
        text, secure = body.get("text"), body.get("secure")
        if not isinstance(text, str):
            raise bad_request("text is required")
        if secure is not None and not isinstance(secure, bool):
            raise bad_request("secure must be true or false")
        message = await self.outbound.reply(who, path_id(request), text, secure)
        return web.json_response(message, status=201)

    async def take(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        await self.store.call(take, who, path_id(request))
        return await self._detail(request)

    async def close(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        await self.store.call(close, who, path_id(request))
        return await self._detail(request)

    async def retry(self, request: web.Request) -> web.Response:
        """Send again a reply that failed or bounced (after the address or relay is fixed)."""
        who = require_staff(request)
        await self.outbound.retry(who, path_id(request), path_id(request, "mid"))
        return await self._detail(request)

    async def transfer(self, request: web.Request) -> web.Response:
        """To another counsellor or area, with a note; the resident's chat is told."""
        who = require_staff(request)
        body = await json_object(request.json)
        to_staff, to_area, note = body.get("to_staff_id"), body.get("to_area"), body.get("note")
        if to_staff is not None and (isinstance(to_staff, bool) or not isinstance(to_staff, int)):
            raise bad_request("to_staff_id must be a staff id (a whole number)")
        if to_area is not None and not isinstance(to_area, str):
            raise bad_request("to_area must be an area code")
        if not isinstance(note, str):
            raise bad_request("note is required: say why")
        moved = await self.store.call(_transfer, who, path_id(request), to_staff, to_area, note)
        # The answer is what was written: the sender may no longer see the contact after it.
        return web.json_response(self.text.contact(reader_language(request), moved))

    async def unparsed(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        return web.json_response({"items": await self.store.call(unparsed, who)})

    async def retry_unparsed(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        raw_id = await self.store.call(retry_raw, who, path_id(request))
        if self.jobs is not None:
            self.jobs.enqueue("email.process", raw_id, job_id=process_job_id([raw_id]))
        return web.json_response({"id": raw_id, "state": "stored"}, status=202)
