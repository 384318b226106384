"""REST API /api/v1 for staff: contacts, their messages, replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from inbox.access import Principal
from inbox.chat import transfer
from inbox.contacts import close, take
from inbox.errors import bad_request, json_object, whole_id
from inbox.outbound import Outbound
from inbox.ports import JobQueue
from inbox.raw import retry_raw, unparsed
from inbox.staff import set_availability
from inbox.store import Store
from inbox.views import contact_detail, contact_json, list_contacts
from web.auth import CSRF, require_staff
from web.i18n import request_language
from web.routing_text import RoutingText


def path_id(request: web.Request, name: str = "id") -> int:
    return whole_id(request.match_info[name], name)


def _transfer(session: Session, who: Principal, contact_id: int, to_staff: int | None,
              to_area: str | None, note: str) -> dict[str, Any]:
    return contact_json(session, transfer(session, who, contact_id, to_staff, to_area, note))


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
                                  "csrf_token": request.get(CSRF)})

    async def availability(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        available = (await json_object(request.json)).get("available")
        if not isinstance(available, bool):
            raise bad_request("available must be true or false")
        await self.store.call(set_availability, who, available)
        return web.json_response({"available": available})

    async def list(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        folder = request.query.get("folder", "all" if who.sees_all_areas else "areas")
        items = await self.store.call(list_contacts, who, folder)
        lang = reader_language(request)
        return web.json_response({"items": [self.text.contact(lang, c) for c in items]})

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
            self.jobs.enqueue("email.process", raw_id, job_id=f"email-process-{raw_id}")
        return web.json_response({"id": raw_id, "state": "stored"}, status=202)
