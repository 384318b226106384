"""POST /api/v1/callbacks (public), /callbacks/claim and /calls (staff)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from inbox.access import Principal
from inbox.errors import MAX_ID, Problem, bad_request, json_object, whole_id
from inbox.inbound import Inbound
from inbox.lookups import postal_areas
from inbox.models import Contact
from inbox.phone import (
    add_callback,
    callback_json,
    claim_next,
    finish_callback,
    log_call,
    open_callbacks,
)
from inbox.store import Store
from router.identify import InvalidPhone, normalise_phone
from router.pipeline import Router

LANGUAGES = ("fi", "sv", "en")
DIRECTIONS = ("in", "out")


@dataclass
class PhoneChannel:
    store: Store
    router: Router
    require_staff: Callable[[web.Request], Principal]
    allow: Callable[[str], bool]

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/v1/callbacks", self.request_callback),
            web.get("/api/v1/callbacks", self.list_callbacks),
            web.post("/api/v1/callbacks/claim", self.claim),
            web.post("/api/v1/callbacks/{id}/outcome", self.outcome),
            web.post("/api/v1/calls", self.log_call),
        ]

    async def request_callback(self, request: web.Request) -> web.Response:
        if not self.allow(request.remote or "?"):
            raise Problem(429, "Too many requests", "wait a minute before asking again")
        body = await json_object(request.json)
        phone = _phone(body.get("phone"))
        postal = body.get("postal_code")
        if not isinstance(postal, str) or not re.fullmatch(r"[0-9]{5}", postal):
            raise bad_request("postal_code must be five digits, e.g. 00940")
        language = body.get("language", "fi")
        if language not in LANGUAGES:
            raise bad_request(f"language must be one of {', '.join(LANGUAGES)}")
        topic = body.get("topic")
        if not isinstance(topic, str) or not topic.strip() or len(topic) > 2000:
            raise bad_request("topic is required (at most 2000 characters)")
        preferred = body.get("preferred_time")
        if preferred is not None and (not isinstance(preferred, str) or len(preferred) > 200):
            raise bad_request("preferred_time must be text of at most 200 characters")
        inbound = Inbound(
            channel="phone", kind="callback", idempotency_key=f"callback:{uuid.uuid4()}",
            text=f"Soittopyyntö: {topic.strip()}", sender_phone=phone, postal_code=postal,
            language=language, subject="Soittopyyntö",
        )
        callback = await self.store.call(self._create_callback, inbound, topic.strip(),
                                         preferred)
        return web.json_response(callback, status=201)

    def _create_callback(self, session: Session, inbound: Inbound, topic: str,
                         preferred: str | None) -> dict[str, Any]:
        recorded = self.router.route(session, inbound)
        postal = inbound.postal_code or ""
        area = postal_areas(session, [postal]).get(postal)
        contact = session.get(Contact, recorded.contact_id)
        urgent = contact is not None and contact.urgency == "high"
        callback = add_callback(
            session, phone=inbound.sender_phone or "", postal_code=postal,
            area_code=area[0] if area else None, language=inbound.language or "fi",
            topic=topic, preferred_time=preferred, priority=1 if urgent else 0,
            contact_id=recorded.contact_id,
        )
        return {"id": callback.id, "area": callback.area_code}

    async def list_callbacks(self, request: web.Request) -> web.Response:
        who = self.require_staff(request)
        return web.json_response({"items": await self.store.call(open_callbacks, who)})

    async def claim(self, request: web.Request) -> web.Response:
        who = self.require_staff(request)
        callback = await self.store.call(claim_next, who)
        if callback is None:
            return web.Response(status=204)
        return web.json_response(callback_json(callback))

    async def outcome(self, request: web.Request) -> web.Response:
        who = self.require_staff(request)
        body = await json_object(request.json)
        callback_id = whole_id(request.match_info["id"])
        callback = await self.store.call(finish_callback, who, callback_id, body.get("outcome"))
        return web.json_response(callback_json(callback))

    async def log_call(self, request: web.Request) -> web.Response:
        who = self.require_staff(request)
        body = await json_object(request.json)
        phone = _phone(body.get("phone"))
        direction = body.get("direction")
        if direction not in DIRECTIONS:
            raise bad_request("direction must be 'in' or 'out'")
        notes = body.get("notes", "")
        if not isinstance(notes, str) or len(notes) > 20_000:
            raise bad_request("notes must be text of at most 20000 characters")
        started = _datetime(body.get("started_at"))
        duration = body.get("duration_s")
        if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int)
                                     or not 0 <= duration <= MAX_ID):
            raise bad_request(f"duration_s must be a whole number from 0 to {MAX_ID}")
        inbound = Inbound(
            channel="phone", kind="call", idempotency_key=f"call:{uuid.uuid4()}",
            text=notes or "(puhelu)", sender_phone=phone, handled_by=who.staff_id,
            subject="Puhelu" if direction == "in" else "Soitto asiakkaalle",
            received_at=started,
        )
        result = await self.store.call(self._log, who, inbound, direction, duration)
        return web.json_response(result, status=201)

    def _log(self, session: Session, who: Principal, inbound: Inbound, direction: str,
             duration: int | None) -> dict[str, Any]:
        recorded = self.router.route(session, inbound)
        contact = session.get(Contact, recorded.contact_id)
        assert contact is not None
        call = log_call(session, who, phone=inbound.sender_phone or "", direction=direction,
                        notes=inbound.text, started_at=inbound.received_at,
                        duration_s=duration, contact_id=contact.id,
                        resident_id=contact.resident_id)
        return {"id": call.id, "contact_id": contact.id, "case_id": contact.case_id,
                "resident_id": contact.resident_id}


def _phone(value: Any) -> str:
    if not isinstance(value, str):
        raise bad_request("phone is required, e.g. 040 123 4567", "Invalid phone number")
    try:
        return normalise_phone(value)
    except InvalidPhone as exc:
        raise bad_request(str(exc), "Invalid phone number") from exc


def _datetime(value: Any) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if not isinstance(value, str):
        raise bad_request("started_at must be an ISO 8601 date-time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise bad_request("started_at must be an ISO 8601 date-time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)



