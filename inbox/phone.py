"""Callback requests and call logs: the phone channel's records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inbox.access import Principal, can_see, log_access
from inbox.errors import Problem, bad_request, not_found
from inbox.identity import redact_identity_codes, redacted
from inbox.models import CallbackRequest, CallLog, Contact, ResidentIdentifier
from inbox.store import emit

CLAIM_ATTEMPTS = 8


def add_callback(
    session: Session, *, phone: str, postal_code: str, area_code: str | None, language: str,
    topic: str, preferred_time: str | None, priority: int, contact_id: int,
) -> CallbackRequest:
    callback = CallbackRequest(
        phone=phone, postal_code=postal_code, area_code=area_code, language=language,
        topic=redact_identity_codes(topic), preferred_time=redacted(preferred_time),
        priority=priority, contact_id=contact_id,
    )
    session.add(callback)
    session.flush()
    emit(session, {"type": "callback.created", "callback_id": callback.id, "area": area_code})
    return callback


def claim_next(session: Session, who: Principal) -> CallbackRequest | None:
    """Give the caller the next open callback of their areas; never one to two people.

    The conditional UPDATE is the guard on every engine: of two claimers that picked the
    same row, only one sees rowcount 1; the other moves on. On PostgreSQL, SKIP LOCKED
    makes them pick different rows in the first place.
    """
    for _ in range(CLAIM_ATTEMPTS):
        query = select(CallbackRequest.id).where(CallbackRequest.state == "open")
        if not who.sees_all_areas:
            query = query.where(
                CallbackRequest.area_code.in_(who.areas) | CallbackRequest.area_code.is_(None)
            )
        candidate = session.scalar(
            query.order_by(CallbackRequest.priority.desc(), CallbackRequest.id)
            .limit(1).with_for_update(skip_locked=True)
        )
        if candidate is None:
            return None
        now = datetime.now(UTC)
        claimed = session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.id == candidate, CallbackRequest.state == "open")
            .values(state="claimed", claimed_by=who.staff_id, claimed_at=now,
                    attempts=CallbackRequest.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            callback = session.get(CallbackRequest, candidate, populate_existing=True)
            assert callback is not None
            contact = session.get(Contact, callback.contact_id) if callback.contact_id else None
            if contact is not None:
                contact.assignee_id = who.staff_id
                contact.updated_at = now
                log_access(session, who, "callbacks.claim", contact=contact)
                emit(session, {"type": "contact.updated", "contact_id": contact.id,
                               "area": contact.area_code, "assignee_id": who.staff_id})
            return callback
    raise Problem(409, "Busy", "other counsellors are claiming right now; try again")


OUTCOMES = ("done", "no_answer")


def finish_callback(session: Session, who: Principal, callback_id: int, outcome: str
                    ) -> CallbackRequest:
    """After the call: done, or no answer (back to the queue, the attempt counted)."""
    if outcome not in OUTCOMES:
        raise Problem(400, "Invalid input", f"outcome must be one of {', '.join(OUTCOMES)}")
    callback = session.get(CallbackRequest, callback_id)
    if callback is None or callback.claimed_by != who.staff_id or callback.state != "claimed":
        raise Problem(409, "Not yours", f"callback {callback_id} is not claimed by you")
    if outcome == "done":
        callback.state = "done"
    else:
        callback.state, callback.claimed_by, callback.claimed_at = "open", None, None
    emit(session, {"type": "callback.updated", "callback_id": callback.id,
                   "area": callback.area_code})
    return callback


def callback_json(callback: CallbackRequest) -> dict[str, Any]:
    return {
        "id": callback.id,
        "phone": callback.phone,
        "postal_code": callback.postal_code,
        "area": callback.area_code,
        "language": callback.language,
        "topic": callback.topic,
        "preferred_time": callback.preferred_time,
        "priority": callback.priority,
        "state": callback.state,
        "attempts": callback.attempts,
        "claimed_by": callback.claimed_by,
        "contact_id": callback.contact_id,
        "created_at": callback.created_at.isoformat(),
    }


def open_callbacks(session: Session, who: Principal, view: str = "api.callbacks"
                   ) -> list[dict[str, Any]]:
    """The queue shows residents' numbers and topics, so each row read is access-logged."""
    query = select(CallbackRequest).where(CallbackRequest.state.in_(("open", "claimed")))
    if not who.sees_all_areas:
        query = query.where(
            CallbackRequest.area_code.in_(who.areas) | CallbackRequest.area_code.is_(None)
        )
    rows = list(session.scalars(
        query.order_by(CallbackRequest.priority.desc(), CallbackRequest.id)))
    for callback in rows:
        contact = session.get(Contact, callback.contact_id) if callback.contact_id else None
        if contact is not None:
            log_access(session, who, view, contact=contact)
    return [callback_json(c) for c in rows]


def log_call(
    session: Session, who: Principal, *, phone: str, direction: str, notes: str,
    started_at: datetime, duration_s: int | None, contact_id: int, resident_id: int | None,
) -> CallLog:
    call = CallLog(
        phone=phone, direction=direction, notes=redact_identity_codes(notes),
        started_at=started_at,
        duration_s=duration_s, staff_id=who.staff_id, contact_id=contact_id,
        resident_id=resident_id,
    )
    session.add(call)
    session.flush()
    return call


def log_call_on_contact(
    session: Session, who: Principal, contact_id: int, *, direction: str, notes: str,
    duration_s: int | None = None,
) -> CallLog:
    """A call about a contact already in the inbox: kept on it, the contact answered."""
    contact = session.get(Contact, contact_id)
    if contact is None or not can_see(who, contact):
        raise not_found(f"contact {contact_id}")
    if direction not in ("in", "out"):
        raise bad_request("direction must be 'in' or 'out'")
    if len(notes) > 20_000:
        raise bad_request("notes must be at most 20000 characters")
    phone = session.scalar(
        select(ResidentIdentifier.value).where(ResidentIdentifier.resident_id
                                               == contact.resident_id,
                                               ResidentIdentifier.kind == "phone")
    ) if contact.resident_id else None
    call = log_call(session, who, phone=phone or "", direction=direction, notes=notes,
                    started_at=datetime.now(UTC), duration_s=duration_s,
                    contact_id=contact.id, resident_id=contact.resident_id)
    contact.status = "answered"
    contact.updated_at = datetime.now(UTC)
    if contact.assignee_id is None:
        contact.assignee_id = who.staff_id
    log_access(session, who, "call", contact=contact, action="write")
    emit(session, {"type": "contact.updated", "contact_id": contact.id,
                   "area": contact.area_code, "assignee_id": contact.assignee_id})
    return call
