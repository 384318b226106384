"""POST /api/v1/telephony/events: the city's phone system tells us about calls.

The body is Zammad's generic CTI event (JSON or form-encoded, so phone systems that speak
it need no new integration): `event` newCall | answer | hangup, `callId`, `from`, `to`,
`direction` in | out, and `user`, `answeringNumber`, `cause`. It is signed:
`X-Yhteys-Timestamp` (unix seconds) and `X-Yhteys-Signature: sha256=HEX`, the HMAC-SHA256
of `timestamp + "." + body` with YHTEYS_TELEPHONY_SECRET. Older than 300 s, a bad
signature or a signature seen before → 401, and nothing changes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.callbacks import (
    URGENCY_PRIORITY,
    QueueRules,
    add_callback,
    cancel_missed_call,
    has_pending,
)
from inbox.errors import Problem, bad_request, unauthorized
from inbox.inbound import Inbound
from inbox.models import Contact
from inbox.phone import CallEvent, apply_event, resident_of_phone, screen_pop, staff_by_number
from inbox.store import Store, emit
from inbox.telephony_replay import accept_signature
from router.identify import InvalidPhone, normalise_phone
from router.pipeline import Router

log = logging.getLogger(__name__)
FRESH_S = 300
EVENTS = ("newCall", "answer", "hangup")
MAX_BODY = 16_384


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What the phone system puts in X-Yhteys-Signature (tests' simulator uses it too)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass
class TelephonyEvents:
    store: Store
    router: Router
    secret: str | None
    clock: Callable[[], datetime]
    broadcast: Callable[[dict[str, Any]], Awaitable[None]]  # to /inbox rooms
    rules: QueueRules = field(default_factory=QueueRules)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/v1/telephony/events", self.receive)]

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise Problem(413, "Too large", f"an event is at most {MAX_BODY} bytes")
        stamp, sig = self._verified(request, body)
        event = _event(request.content_type, body, datetime.fromtimestamp(int(stamp), UTC))
        for attempt in range(3):
            try:
                pops = await self.store.call(self._apply, event, sig)
                break
            except IntegrityError:  # the same callId's first events raced: fold again
                if attempt == 2:
                    raise
        for pop in pops:
            await self.broadcast(pop)
        return web.json_response({"ok": True})

    def _verified(self, request: web.Request, body: bytes) -> tuple[str, str]:
        if not self.secret:
            raise Problem(503, "Not configured", "YHTEYS_TELEPHONY_SECRET is not set")
        stamp = request.headers.get("X-Yhteys-Timestamp", "")
        given = request.headers.get("X-Yhteys-Signature", "")
        if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12 or not given:
            raise unauthorized("sign the event: X-Yhteys-Timestamp and X-Yhteys-Signature")
        if abs(self.clock().timestamp() - int(stamp)) > FRESH_S:
            raise unauthorized(f"the event is older than {FRESH_S} s (or from the future)")
        if not hmac.compare_digest(given, signature(self.secret, stamp, body)):
            raise unauthorized("the signature does not match")
        return stamp, given

    def _apply(self, session: Session, event: CallEvent, sig: str) -> list[dict[str, Any]]:
        now = self.clock()
        if not accept_signature(session, sig, now, timedelta(seconds=2 * FRESH_S)):
            raise unauthorized("this signed event was received before (a replay)")
        raw_phone = event.from_number if event.direction == "in" else event.to_number
        phone = _e164(raw_phone)
        applied = apply_event(session, event, phone or (raw_phone or "")[:20])
        call = applied.call
        if phone and call.resident_id is None:
            call.resident_id = resident_of_phone(session, phone)
        pops: list[dict[str, Any]] = []
        desk = staff_by_number(session, event.to_number if event.direction == "in"
                               else event.from_number, event.user)
        if event.event == "newCall" and event.direction == "in" and desk is not None \
                and call.answered_at is None and call.ended_at is None:
            pops.append({"type": "call.ringing", "only_staff": desk.id, "call_id": call.call_id,
                         **screen_pop(session, desk, phone or (raw_phone or ""))})
        if event.event in ("answer", "hangup") and desk is not None:
            pops.append({"type": "call.ended" if event.event == "hangup" else "call.answered",
                         "only_staff": desk.id, "call_id": call.call_id})
        if applied.answered_now and call.contact_id is not None:
            cancel_missed_call(session, call.contact_id, now)  # answered after all
        if applied.missed_now and phone:
            self._missed(session, call.call_id or "", phone, now, call)
        emit(session, {"type": "call.updated", "call_id": call.call_id, "area": None})
        return pops

    def _missed(self, session: Session, call_id: str, phone: str, now: datetime,
                call: Any) -> None:
        """An unanswered inbound call becomes a callback in the caller's area, once per
        number within the dedupe time (and never beside one still waiting)."""
        if has_pending(session, phone, now, self.rules):
            return
        recorded = self.router.route(session, Inbound(
            channel="phone", kind="callback", trust="network",
            idempotency_key=f"missed:{call_id}", text="", sender_phone=phone,
            subject="Vastaamaton puhelu", received_at=now))
        contact = session.get(Contact, recorded.contact_id)
        assert contact is not None
        call.contact_id, call.resident_id = contact.id, contact.resident_id
        add_callback(session, phone=phone, postal_code=None, area_code=contact.area_code,
                     language=contact.language or "fi", reason=None, topic="", window=None,
                     priority=URGENCY_PRIORITY.get(contact.urgency, 0), contact_id=contact.id,
                     source="missed_call", rules=self.rules, now=now)


def _e164(number: str | None) -> str | None:
    if not number:
        return None
    try:
        return normalise_phone(number)
    except InvalidPhone:
        return None  # an anonymous caller, an internal extension


def _event(content_type: str, body: bytes, at: datetime) -> CallEvent:
    data: dict[str, Any]
    try:
        if content_type == "application/json":
            loaded = json.loads(body)
            data = loaded if isinstance(loaded, dict) else {}
        else:
            data = {k: v[0] for k, v in parse_qs(body.decode("utf-8"),
                                                 keep_blank_values=True).items()}
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("the event must be JSON or form-encoded") from exc
    kind, call_id = data.get("event"), data.get("callId")
    if kind not in EVENTS:
        raise bad_request(f"event must be one of {', '.join(EVENTS)}", field="event")
    if not isinstance(call_id, str) or not 0 < len(call_id) <= 100:
        raise bad_request("callId must be text of 1 to 100 characters", field="callId")
    direction = data.get("direction", "in")
    if direction not in ("in", "out"):
        raise bad_request("direction must be 'in' or 'out'", field="direction")

    def text(name: str, limit: int = 32) -> str | None:
        value = data.get(name)
        if isinstance(value, list):  # Zammad sends `user` as a list on outbound calls
            value = value[0] if value else None
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > limit or "\x00" in value:
            raise bad_request(f"{name} must be text of at most {limit} characters", field=name)
        return value

    return CallEvent(event=kind, call_id=call_id, from_number=text("from"),
                     to_number=text("to"), direction=direction, at=at,
                     user=text("user", 200), answering_number=text("answeringNumber"),
                     cause=text("cause"))
