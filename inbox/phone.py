"""Call logs: calls a counsellor logs, and calls the phone system reports.

A phone system reports one call as several events (newCall, answer, hangup) that may come
in any order and more than once; `apply_event` folds each into the one row of its callId
so that the result is the same whatever the order: the earliest time of each kind wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from inbox.access import Principal, area_visible, can_see, log_access, visible_contacts
from inbox.contacts import Recorded
from inbox.errors import bad_request, not_found
from inbox.identity import redact_identity_codes
from inbox.inbound import Inbound
from inbox.lookups import open_case_of, resident_visible
from inbox.models import CallLog, Contact, Resident, ResidentIdentifier, Staff
from inbox.staff import principal_of
from inbox.store import emit


def log_call(
    session: Session, who: Principal, *, phone: str, direction: str, notes: str,
    started_at: datetime, duration_s: int | None, contact_id: int, resident_id: int | None,
    call_id: str | None = None,
) -> CallLog:
    call = CallLog(
        call_id=call_id, phone=phone, direction=direction, notes=redact_identity_codes(notes),
        started_at=started_at,
        duration_s=duration_s, staff_id=who.staff_id, contact_id=contact_id,
        resident_id=resident_id,
    )
    session.add(call)
    session.flush()
    return call


def logged_call(session: Session, call_id: str) -> dict[str, Any] | None:
    """A call logged before under this key (a double submit gets the first answer)."""
    call = session.scalar(select(CallLog).where(CallLog.call_id == call_id))
    if call is None:
        return None
    contact = session.get(Contact, call.contact_id) if call.contact_id else None
    return {"id": call.id, "contact_id": call.contact_id,
            "case_id": contact.case_id if contact else None, "resident_id": call.resident_id}


def log_routed_call(session: Session, who: Principal, inbound: Inbound, direction: str,
                    duration: int | None, route: Callable[[Session, Inbound], Recorded]
                    ) -> dict[str, Any]:
    """A counsellor's call, routed like any contact (API and page alike): a double submit
    gets the first one's answer; a chosen resident must be one this counsellor may see.
    Answers only ids of the records the call went to."""
    earlier = logged_call(session, inbound.idempotency_key)
    if earlier is not None:
        return earlier
    if inbound.resident_id is not None and not resident_visible(
            session, who.staff_id, inbound.resident_id):
        raise not_found(f"resident {inbound.resident_id}")
    recorded = route(session, inbound)
    contact = session.get(Contact, recorded.contact_id)
    assert contact is not None
    call = log_call(session, who, phone=inbound.sender_phone or "", direction=direction,
                    notes=inbound.text, started_at=inbound.received_at, duration_s=duration,
                    contact_id=contact.id, resident_id=contact.resident_id,
                    call_id=inbound.idempotency_key)
    return {"id": call.id, "contact_id": contact.id, "case_id": contact.case_id,
            "resident_id": contact.resident_id}


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


MISSED_CAUSES = frozenset({"cancel", "noAnswer", "busy"})


@dataclass(frozen=True)
class CallEvent:
    """One event of the phone system (Zammad's generic CTI shape), with its time."""

    event: str  # newCall | answer | hangup
    call_id: str
    from_number: str | None
    to_number: str | None
    direction: str  # in | out
    at: datetime
    user: str | None = None
    answering_number: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class Applied:
    call: CallLog
    missed_now: bool  # this event showed the call ended unanswered (first time)
    answered_now: bool  # this event showed the call was answered (first time)


def resident_of_phone(session: Session, phone: str) -> int | None:
    return session.scalar(select(ResidentIdentifier.resident_id).where(
        ResidentIdentifier.kind == "phone", ResidentIdentifier.value == phone))


def staff_by_number(session: Session, *numbers: str | None) -> Staff | None:
    """The counsellor whose desk phone this is: by E.164 number or by extension."""
    wanted = [n for n in numbers if n]
    if not wanted:
        return None
    return session.scalar(select(Staff).where(
        or_(Staff.phone.in_(wanted), Staff.extension.in_(wanted))).limit(1))


def apply_event(session: Session, event: CallEvent, resident_phone: str) -> Applied:
    """Fold one event into its call's row; the same event twice changes nothing."""
    call = session.scalar(select(CallLog).where(CallLog.call_id == event.call_id)
                          .with_for_update())
    if call is None:
        call = CallLog(call_id=event.call_id, phone=resident_phone, direction=event.direction,
                       from_number=event.from_number, to_number=event.to_number,
                       started_at=event.at, notes="")
        session.add(call)
    was_missed, was_answered = _missed(call), call.answered_at is not None
    if event.event == "newCall" or event.at < call.started_at:
        call.started_at = min(call.started_at, event.at)
        call.from_number = event.from_number or call.from_number
        call.to_number = event.to_number or call.to_number
        call.direction = event.direction
    if event.event == "answer":
        call.answered_at = min(filter(None, (call.answered_at, event.at)))
        answerer = staff_by_number(session, event.answering_number, event.user)
        if answerer is not None:
            call.staff_id = answerer.id
    if event.event == "hangup":
        if call.ended_at is None or event.at < call.ended_at:
            call.ended_at, call.cause = event.at, event.cause
    if call.ended_at is not None:
        begun = call.answered_at or call.started_at
        call.duration_s = max(0, int((call.ended_at - begun).total_seconds()))
    session.flush()
    return Applied(call, _missed(call) and not was_missed,
                   call.answered_at is not None and not was_answered)


def _missed(call: CallLog) -> bool:
    return (call.direction == "in" and call.answered_at is None
            and call.ended_at is not None and call.cause in MISSED_CAUSES)


def screen_pop(session: Session, staff: Staff, phone: str) -> dict[str, Any]:
    """Who is calling, as this counsellor may see it: a known resident and their open case
    (only within their areas), or an unknown number."""
    who = principal_of(staff)
    resident = session.scalar(
        select(Resident).join(ResidentIdentifier, ResidentIdentifier.resident_id == Resident.id)
        .where(ResidentIdentifier.kind == "phone", ResidentIdentifier.value == phone))
    pop: dict[str, Any] = {"phone": phone, "known": False}
    if resident is None:
        return pop
    case = open_case_of(session, resident.id)
    contact = session.scalar(select(Contact).where(Contact.resident_id == resident.id)
                             .order_by(Contact.id.desc()).limit(1))
    if not area_visible(who, case.area_code if case else (contact.area_code if contact
                                                            else None)):
        return {**pop, "known": True, "other_area": True}
    if contact is not None:
        log_access(session, who, "telephony.screen_pop", contact=contact)
    return {**pop, "known": True, "resident_id": resident.id, "name": resident.name,
            "case_id": case.id if case else None,
            "contact_id": contact.id if contact else None}


def call_json(call: CallLog, staff_name: str | None) -> dict[str, Any]:
    return {"id": call.id, "call_id": call.call_id, "phone": call.phone,
            "direction": call.direction, "from": call.from_number, "to": call.to_number,
            "started_at": call.started_at.isoformat(),
            "answered_at": call.answered_at.isoformat() if call.answered_at else None,
            "ended_at": call.ended_at.isoformat() if call.ended_at else None,
            "duration_s": call.duration_s, "cause": call.cause, "staff": staff_name,
            "contact_id": call.contact_id, "resident_id": call.resident_id,
            "notes": call.notes}


def recent_calls(session: Session, who: Principal, limit: int = 200) -> list[dict[str, Any]]:
    """The newest calls this staff member may see: their own, those on contacts of their
    areas, and unanswered calls that became a callback in them; leads see all."""
    query = (select(CallLog, Staff.name).outerjoin(Staff, Staff.id == CallLog.staff_id)
             .outerjoin(Contact, Contact.id == CallLog.contact_id))
    if not who.sees_all_areas:
        query = query.where(or_(CallLog.staff_id == who.staff_id,
                                (CallLog.contact_id.is_not(None)) & visible_contacts(who)))
    rows = session.execute(query.order_by(CallLog.started_at.desc(), CallLog.id.desc())
                           .limit(limit)).all()
    for call, _ in rows:
        contact = session.get(Contact, call.contact_id) if call.contact_id else None
        log_access(session, who, "api.calls", contact=contact)
    return [call_json(call, name) for call, name in rows]
