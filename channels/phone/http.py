"""Phone over HTTP: residents ask for a callback; counsellors work the queue and log calls."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from channels.phone.words import Speaker
from inbox.access import Principal
from inbox.callbacks import (
    URGENCY_PRIORITY,
    QueueRules,
    Window,
    add_callback,
    callback_json,
    cancel,
    check_window,
    claim,
    claim_next,
    queue,
    record_attempt,
    windows,
)
from inbox.errors import MAX_ID, Problem, bad_request, json_object, whole_id
from inbox.hours import ServiceHours
from inbox.inbound import Inbound
from inbox.lookups import postal_areas
from inbox.matches import resolve_possible_match
from inbox.models import Contact
from inbox.phone import log_routed_call, recent_calls
from inbox.residents import search_residents
from inbox.store import Store
from router.identify import InvalidPhone, normalise_phone
from router.pipeline import Router

LANGUAGES = ("fi", "sv", "en")
DIRECTIONS = ("in", "out")
POSTAL = re.compile(r"[0-9]{5}")


@dataclass
class PhoneChannel:
    store: Store
    router: Router
    require_staff: Callable[[web.Request], Principal]
    allow: Callable[[str], bool]
    clock: Callable[[], datetime]
    hours: ServiceHours
    speaker: Speaker
    rules: QueueRules = field(default_factory=QueueRules)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/v1/callbacks", self.request_callback),
            web.get("/api/v1/callbacks/windows", self.windows),
            web.get("/api/v1/callbacks", self.list_callbacks),
            web.post("/api/v1/callbacks/claim", self.claim_next),
            web.post("/api/v1/callbacks/{id}/claim", self.claim),
            web.post("/api/v1/callbacks/{id}/attempts", self.attempt),
            web.post("/api/v1/callbacks/{id}/cancel", self.cancel),
            web.post("/api/v1/calls", self.log_call),
            web.get("/api/v1/calls", self.list_calls),
            web.get("/api/v1/residents", self.find_residents),
            web.post("/api/v1/contacts/{id}/possible-match", self.possible_match),
        ]

    # --- residents ----------------------------------------------------------------------
    async def windows(self, request: web.Request) -> web.Response:
        lang = self.speaker.language(request)
        area = await self._area(request.query.get("postal_code"),
                                request.query.get("no_fixed_address") in ("1", "true"))
        now = self.clock()
        hours = self.hours.of(area)
        return web.json_response({
            "open_now": hours.is_open(now),
            "windows": [{"from": w.start.isoformat(), "to": w.end.isoformat(),
                         "label": self.speaker.window(lang, w)} for w in windows(hours, now)]})

    async def request_callback(self, request: web.Request) -> web.Response:
        if not self.allow(request.remote or "?"):
            raise Problem(429, "Too many requests", "wait a minute before asking again")
        lang = self.speaker.language(request)
        body = await json_object(request.json)
        phone = _phone(body.get("phone"))
        no_address = body.get("no_fixed_address") is True
        postal = body.get("postal_code")
        if not no_address and postal in (None, ""):
            raise bad_request("postal_code is required, or no_fixed_address: true",
                              code="postal_code.required", field="postal_code")
        area = await self._area(None if no_address else postal, no_address)
        language = body.get("language", lang)
        if language not in LANGUAGES:
            raise bad_request(f"language must be one of {', '.join(LANGUAGES)}",
                              code="language.invalid", field="language")
        topic = body.get("topic")
        if topic is not None and (isinstance(topic, bool) or not isinstance(topic, int)
                                  or not 0 < topic <= 99):
            raise bad_request("topic must be a reason code", code="topic.invalid",
                              field="topic")
        text = body.get("text", "")
        if not isinstance(text, str) or len(text) > 2000:
            raise bad_request("text must be at most 2000 characters", code="text.too_long",
                              field="text")
        window = self._window(body.get("preferred_time"), area)
        inbound = Inbound(
            channel="phone", kind="callback", trust="suggest",
            idempotency_key=f"callback:{uuid.uuid4()}", text=text.strip(),
            sender_phone=phone, postal_code=None if no_address else postal,
            no_fixed_address=no_address, language=language, topic=topic,
            subject="Soittopyyntö", received_at=self.clock())
        created = await self.store.call(self._create_callback, inbound, window)
        return web.json_response({**created, "message": self.speaker.expect(
            lang, phone, window, self.hours.of(created["area"]), self.clock())}, status=201)

    async def _area(self, postal: object, no_address: bool) -> str | None:
        if no_address or postal is None:
            return None
        if not isinstance(postal, str) or not POSTAL.fullmatch(postal):
            raise bad_request("postal_code must be five digits, e.g. 00940",
                              code="postal_code.invalid", field="postal_code")
        found = await self.store.call(postal_areas, [postal])
        return found[postal][0] if postal in found else None

    def _window(self, value: object, area: str | None) -> Window | None:
        if value is None:
            return None
        invalid = bad_request("preferred_time must be {from, to} as ISO 8601 date-times",
                              code="preferred_time.invalid", field="preferred_time")
        if not isinstance(value, dict) or not {"from", "to"} <= set(value):
            raise invalid
        try:
            start, end = (datetime.fromisoformat(str(value[k])) for k in ("from", "to"))
        except ValueError as exc:
            raise invalid from exc
        if start.tzinfo is None or end.tzinfo is None:
            raise invalid
        why = check_window(self.hours.of(area), self.clock(), start, end)
        if why is not None:
            raise bad_request(f"preferred_time: {why.rpartition('.')[2]} (opening hours only)",
                              code=why, field="preferred_time")
        return Window(start, end)

    def _create_callback(self, session: Session, inbound: Inbound,
                         window: Window | None) -> dict[str, Any]:
        recorded = self.router.route(session, inbound)
        contact = session.get(Contact, recorded.contact_id)
        assert contact is not None
        callback = add_callback(
            session, phone=inbound.sender_phone or "", postal_code=inbound.postal_code,
            area_code=contact.area_code, language=inbound.language or "fi",
            reason=inbound.topic, topic=inbound.text, window=window,
            priority=URGENCY_PRIORITY.get(contact.urgency, 0), contact_id=contact.id,
            source="form", rules=self.rules, now=self.clock())
        return {"id": callback.id, "area": callback.area_code,
                "expected": {"from": window.start.isoformat(), "to": window.end.isoformat()}
                if window else None}

    # --- counsellors --------------------------------------------------------------------
    async def list_callbacks(self, request: web.Request) -> web.Response:
        who = self.require_staff(request)
        items = await self.store.call(queue, who, self.clock(), self.rules)
        return web.json_response({"items": items})

    async def claim_next(self, request: web.Request) -> web.Response:
        who = self.require_staff(request)
        now = self.clock()
        callback = await self.store.call(claim_next, who, now, self.rules)
        if callback is None:
            return web.Response(status=204)
        return web.json_response(callback_json(callback, now, who.name))

    async def claim(self, request: web.Request) -> web.Response:
        who = self.require_staff(request)
        now = self.clock()
        callback = await self.store.call(claim, who, whole_id(request.match_info["id"]), now,
                                         self.rules)
        return web.json_response(callback_json(callback, now, who.name))

    async def attempt(self, request: web.Request) -> web.Response:
        who = self.require_staff(request)
        body = await json_object(request.json)
        notes = body.get("notes", "")
        if not isinstance(notes, str):
            raise bad_request("notes must be text")
        now = self.clock()
        callback = await self.store.call(record_attempt, who,
                                         whole_id(request.match_info["id"]),
                                         body.get("result"), notes, now, self.rules)
        return web.json_response(callback_json(callback, now), status=201)

    async def cancel(self, request: web.Request) -> web.Response:
        who = self.require_staff(request)
        now = self.clock()
        callback = await self.store.call(cancel, who, whole_id(request.match_info["id"]), now)
        return web.json_response(callback_json(callback, now))

    async def possible_match(self, request: web.Request) -> web.Response:
        who = self.require_staff(request)
        body = await json_object(request.json)
        action = body.get("action")
        if action not in ("confirm", "reject"):
            raise bad_request("action must be 'confirm' or 'reject'")
        result = await self.store.call(resolve_possible_match, who,
                                       whole_id(request.match_info["id"]), action == "confirm")
        return web.json_response(result)

    async def find_residents(self, request: web.Request) -> web.Response:
        """For "log a call": residents by number or name, within one's areas."""
        who = self.require_staff(request)
        q = request.query.get("q", "").strip()
        if not 2 <= len(q) <= 100:
            raise bad_request("q must be 2 to 100 characters: a number or a name", field="q")
        try:
            phone: str | None = normalise_phone(q)
        except InvalidPhone:
            phone = None
        return web.json_response({"items": await self.store.call(search_residents, who, q,
                                                                 phone)})

    async def list_calls(self, request: web.Request) -> web.Response:
        who = self.require_staff(request)
        return web.json_response({"items": await self.store.call(recent_calls, who)})

    async def log_call(self, request: web.Request) -> web.Response:
        who = self.require_staff(request)
        body = await json_object(request.json)
        phone = _phone(body.get("phone"))
        direction = body.get("direction")
        if direction not in DIRECTIONS:
            raise bad_request("direction must be 'in' or 'out'", field="direction")
        notes = body.get("notes", "")
        if not isinstance(notes, str) or len(notes) > 20_000:
            raise bad_request("notes must be text of at most 20000 characters", field="notes")
        started = _datetime(body.get("started_at"), self.clock())
        duration = body.get("duration_s")
        if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int)
                                     or not 0 <= duration <= MAX_ID):
            raise bad_request(f"duration_s must be a whole number from 0 to {MAX_ID}")
        resident_id = body.get("resident_id")
        if resident_id is not None and (isinstance(resident_id, bool)
                                        or not isinstance(resident_id, int)
                                        or not 0 < resident_id <= MAX_ID):
            raise bad_request("resident_id must be a resident's id", field="resident_id")
        key = body.get("client_id")
        if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 60):
            raise bad_request("client_id must be text of 1 to 60 characters")
        inbound = Inbound(
            channel="phone", kind="call", trust="staff",
            idempotency_key=f"call:{who.staff_id}:{key or uuid.uuid4()}",
            text=notes or "(puhelu)", sender_phone=phone, handled_by=who.staff_id,
            subject="Puhelu" if direction == "in" else "Soitto asiakkaalle",
            received_at=started, resident_id=resident_id)
        result = await self.store.call(self._log, who, inbound, direction, duration)
        return web.json_response(result, status=201)

    def _log(self, session: Session, who: Principal, inbound: Inbound, direction: str,
             duration: int | None) -> dict[str, Any]:
        return log_routed_call(session, who, inbound, direction, duration, self.router.route)


def _phone(value: Any) -> str:
    if not isinstance(value, str):
        raise bad_request("phone is required, e.g. 040 123 4567", "Invalid phone number",
                          code="phone.required", field="phone")
    try:
        return normalise_phone(value)
    except InvalidPhone as exc:
        raise bad_request(str(exc), "Invalid phone number", code=exc.code,
                          field="phone") from exc


def _datetime(value: Any, now: datetime) -> datetime:
    if value is None:
        return now
    if not isinstance(value, str):
        raise bad_request("started_at must be an ISO 8601 date-time", field="started_at")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise bad_request("started_at must be an ISO 8601 date-time",
                          field="started_at") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=now.tzinfo)
