"""The callback queue, as a contact centre runs it.

A request is `queued` until a counsellor claims it; the call they make is an attempt:
`reached` ends it (`done`), `wrong_number` ends it (`failed`), `no_answer` puts it back
to wait at least `retry_after` — until `max_attempts`, then it is `failed` and shown to
the area's lead with its history. A claim left unresolved for `claim_timeout` counts as
queued again. Every change is a conditional UPDATE on the state it expects, so two
counsellors never hold one request, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import Session

from inbox.access import Principal, area_visible, in_visible_area, log_access
from inbox.errors import Problem, bad_request, not_found
from inbox.hours import OpeningHours
from inbox.identity import redact_identity_codes
from inbox.models import CallbackAttempt, CallbackRequest, Contact, Staff
from inbox.store import emit

STATES = ("queued", "claimed", "done", "failed", "cancelled")
RESULTS = ("reached", "no_answer", "wrong_number")
CLAIM_TRIES = 8
CLAIM_LOCK_BASE = 7_426_100_000  # advisory lock keys: this + the staff id
URGENCY_PRIORITY = {"normal": 0, "high": 1, "urgent": 2}  # a contact's urgency: its priority


@dataclass(frozen=True)
class QueueRules:
    claim_timeout: timedelta = timedelta(minutes=30)
    retry_after: timedelta = timedelta(hours=2)
    max_attempts: int = 3
    dedupe: timedelta = timedelta(minutes=60)  # missed calls: one request per number


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def windows(hours: OpeningHours, now: datetime, days: int = 5,
            slot: timedelta = timedelta(hours=2)) -> list[Window]:
    """The slots a resident may choose: opening spans cut into `slot`s, over the next
    `days` open days, the current slot included while at least 15 minutes of it remain."""
    found: list[Window] = []
    open_days: set[object] = set()
    moment = now
    while (start := hours.opens_at(moment)) is not None:
        span = hours.open_span(start)
        assert span is not None
        if span[0].date() not in open_days and len(open_days) >= days:
            break
        open_days.add(span[0].date())
        cut = span[0]
        while cut < span[1]:
            end = min(cut + slot, span[1])
            if end - max(cut, now) >= timedelta(minutes=15):
                found.append(Window(cut, end))
            cut = end
        moment = span[1]
    return found


def check_window(hours: OpeningHours, now: datetime, start: datetime, end: datetime) -> str | None:
    """Why a chosen window will not do (an error code), or None."""
    if end <= start:
        return "preferred_time.invalid"
    if end <= now:
        return "preferred_time.past"
    span = hours.open_span(start)
    if span is None or end > span[1] or start - now > timedelta(days=21):
        return "preferred_time.closed"
    return None


def add_callback(
    session: Session, *, phone: str, postal_code: str | None, area_code: str | None,
    language: str, reason: int | None, topic: str, window: Window | None, priority: int,
    contact_id: int | None, source: str, rules: QueueRules, now: datetime,
) -> CallbackRequest:
    callback = CallbackRequest(
        phone=phone, postal_code=postal_code, area_code=area_code, language=language,
        reason=reason, topic=redact_identity_codes(topic), source=source,
        window_from=window.start if window else None, window_to=window.end if window else None,
        priority=priority, max_attempts=rules.max_attempts, contact_id=contact_id,
        created_at=now,
    )
    session.add(callback)
    session.flush()
    _changed(session, callback, "callback.created")
    return callback


def has_pending(session: Session, phone: str, now: datetime, rules: QueueRules) -> bool:
    """Does this number already wait for our call: a request still open, or one from a
    missed call within the dedupe time (one missed-call request per number)?"""
    return session.scalar(
        select(CallbackRequest.id).where(
            CallbackRequest.phone == phone,
            CallbackRequest.state.in_(("queued", "claimed"))
            | ((CallbackRequest.source == "missed_call")
               & (CallbackRequest.created_at > now - rules.dedupe)))
        .limit(1)) is not None


def cancel_missed_call(session: Session, contact_id: int, now: datetime) -> None:
    """The call was answered after all (its events came out of order)."""
    for callback in session.scalars(select(CallbackRequest).where(
            CallbackRequest.contact_id == contact_id, CallbackRequest.source == "missed_call",
            CallbackRequest.state == "queued")):
        callback.state, callback.closed_at = "cancelled", now
        _changed(session, callback)


def release_stale_claims(session: Session, now: datetime, rules: QueueRules) -> int:
    """Claims nobody resolved in time go back to the queue (whoever holds them)."""
    stale = list(session.scalars(select(CallbackRequest.id).where(
        CallbackRequest.state == "claimed",
        CallbackRequest.claimed_at < now - rules.claim_timeout)))
    released = 0
    for callback_id in stale:
        released += session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.id == callback_id, CallbackRequest.state == "claimed",
                   CallbackRequest.claimed_at < now - rules.claim_timeout)
            .values(state="queued", claimed_by=None, claimed_at=None)
            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        callback = session.get(CallbackRequest, callback_id, populate_existing=True)
        if callback is not None:
            _changed(session, callback)
    return released


def _claimable(now: datetime) -> Any:
    return (
        (CallbackRequest.state == "queued")
        & or_(CallbackRequest.not_before.is_(None), CallbackRequest.not_before <= now)
        & or_(CallbackRequest.window_from.is_(None), CallbackRequest.window_from <= now)
    )


def claim_next(session: Session, who: Principal, now: datetime, rules: QueueRules
               ) -> CallbackRequest | None:
    """The highest-priority request whose window is open now, oldest first; one at a time:
    who holds one already gets that one again (a double-clicked "claim next").

    Of two claimers that picked the same row only one sees rowcount 1; the other tries
    the next. On PostgreSQL, SKIP LOCKED makes them pick different rows to begin with.
    """
    release_stale_claims(session, now, rules)
    _one_claimer_at_a_time(session, who)
    holding = session.scalar(select(CallbackRequest).where(  # a double click: the same one
        CallbackRequest.state == "claimed", CallbackRequest.claimed_by == who.staff_id)
        .order_by(CallbackRequest.claimed_at.desc()).limit(1))
    if holding is not None:
        return holding
    for _ in range(CLAIM_TRIES):
        candidate = session.scalar(
            select(CallbackRequest.id)
            .where(_claimable(now), in_visible_area(who, CallbackRequest.area_code))
            .order_by(CallbackRequest.priority.desc(), CallbackRequest.created_at,
                      CallbackRequest.id)
            .limit(1).with_for_update(skip_locked=True))
        if candidate is None:
            return None
        taken = _take(session, who, candidate, now)
        if taken is not None:
            return taken
    raise Problem(409, "Busy", "other counsellors are claiming right now; try again")


def _one_claimer_at_a_time(session: Session, who: Principal) -> None:
    """A counsellor's two clicks at once take turns (PostgreSQL: a transaction-scoped
    advisory lock per staff member; SQLite writers are serial already), so the second
    sees what the first claimed."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                        {"k": CLAIM_LOCK_BASE + who.staff_id})


def claim(session: Session, who: Principal, callback_id: int, now: datetime,
          rules: QueueRules) -> CallbackRequest:
    """Take one particular request from the queue page."""
    release_stale_claims(session, now, rules)
    _one_claimer_at_a_time(session, who)
    callback = _visible(session, who, callback_id)
    if callback.state == "claimed" and callback.claimed_by == who.staff_id:
        return callback  # a double click: it is yours already
    if callback.state != "queued":
        raise Problem(409, "Not in the queue", f"callback {callback_id} is {callback.state}")
    taken = _take(session, who, callback_id, now)
    if taken is None:
        raise Problem(409, "Taken", f"callback {callback_id} was just claimed by someone else")
    return taken


def _take(session: Session, who: Principal, callback_id: int, now: datetime
          ) -> CallbackRequest | None:
    """The request, claimed by this counsellor; None when another got there first."""
    taken = session.execute(
        update(CallbackRequest)
        .where(CallbackRequest.id == callback_id, CallbackRequest.state == "queued")
        .values(state="claimed", claimed_by=who.staff_id, claimed_at=now)
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    callback = _loaded(session, callback_id)
    contact = session.get(Contact, callback.contact_id) if callback.contact_id else None
    if contact is not None:
        contact.assignee_id = who.staff_id
        log_access(session, who, "callbacks.claim", contact=contact)
        emit(session, {"type": "contact.updated", "contact_id": contact.id,
                       "area": contact.area_code, "assignee_id": who.staff_id})
    _changed(session, callback)
    return callback


def record_attempt(session: Session, who: Principal, callback_id: int, result: str,
                   notes: str, now: datetime, rules: QueueRules) -> CallbackRequest:
    """One call made on a request this counsellor holds, and what it means for the queue."""
    if result not in RESULTS:
        raise bad_request(f"result must be one of {', '.join(RESULTS)}")
    if len(notes) > 20_000:
        raise bad_request("notes must be at most 20000 characters")
    callback = _visible(session, who, callback_id)
    if callback.state != "claimed" or callback.claimed_by != who.staff_id:
        raise Problem(409, "Not yours", f"callback {callback_id} is not claimed by you")
    attempts = callback.attempts + 1
    if result == "reached":
        values: dict[str, Any] = {"state": "done", "closed_at": now}
    elif result == "wrong_number" or attempts >= callback.max_attempts:
        values = {"state": "failed", "closed_at": now}
    else:
        values = {"state": "queued", "not_before": now + rules.retry_after}
    moved = session.execute(
        update(CallbackRequest)
        .where(CallbackRequest.id == callback_id, CallbackRequest.state == "claimed",
               CallbackRequest.claimed_by == who.staff_id,
               CallbackRequest.attempts < CallbackRequest.max_attempts)
        .values(attempts=attempts, claimed_by=None, claimed_at=None, **values)
        .execution_options(synchronize_session=False))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Problem(409, "Not yours", f"callback {callback_id} is not claimed by you")
    session.add(CallbackAttempt(callback_id=callback_id, staff_id=who.staff_id, result=result,
                                notes=redact_identity_codes(notes), at=now))
    callback = _loaded(session, callback_id)
    contact = session.get(Contact, callback.contact_id) if callback.contact_id else None
    if contact is not None:
        if result == "reached":
            contact.status = "answered"
        contact.updated_at = now
        log_access(session, who, "callbacks.attempt", contact=contact, action="write")
        emit(session, {"type": "contact.updated", "contact_id": contact.id,
                       "area": contact.area_code, "assignee_id": contact.assignee_id})
    _changed(session, callback)
    return callback


def cancel(session: Session, who: Principal, callback_id: int, now: datetime
           ) -> CallbackRequest:
    """No call needed any more (the resident called us, or asked twice)."""
    callback = _visible(session, who, callback_id)
    if callback.state in ("done", "failed", "cancelled"):
        return callback
    if callback.state == "claimed" and callback.claimed_by != who.staff_id \
            and not who.sees_all_areas:
        raise Problem(409, "Not yours", f"callback {callback_id} is held by someone else")
    callback.state, callback.claimed_by, callback.claimed_at = "cancelled", None, None
    callback.closed_at = now
    _changed(session, callback)
    return callback


def _visible(session: Session, who: Principal, callback_id: int) -> CallbackRequest:
    callback = session.get(CallbackRequest, callback_id)
    if callback is None or not area_visible(who, callback.area_code, callback.claimed_by):
        raise not_found(f"callback {callback_id}")
    return callback


def _loaded(session: Session, callback_id: int) -> CallbackRequest:
    callback = session.get(CallbackRequest, callback_id, populate_existing=True)
    assert callback is not None
    return callback


def _changed(session: Session, callback: CallbackRequest,
             kind: str = "callback.updated") -> None:
    emit(session, {"type": kind, "callback_id": callback.id, "area": callback.area_code,
                   "state": callback.state})


def callback_json(callback: CallbackRequest, now: datetime,
                  holder: str | None = None) -> dict[str, Any]:
    ends = callback.closed_at or now
    return {
        "id": callback.id,
        "phone": callback.phone,
        "postal_code": callback.postal_code,
        "area": callback.area_code,
        "language": callback.language,
        "topic": callback.reason,
        "text": callback.topic,
        "source": callback.source,
        "preferred_time": ({"from": callback.window_from.isoformat(),
                            "to": callback.window_to.isoformat()}
                           if callback.window_from and callback.window_to else None),
        "priority": callback.priority,
        "state": callback.state,
        "attempts": callback.attempts,
        "max_attempts": callback.max_attempts,
        "not_before": callback.not_before.isoformat() if callback.not_before else None,
        "claimable": (callback.state == "queued"
                      and (callback.not_before is None or callback.not_before <= now)
                      and (callback.window_from is None or callback.window_from <= now)),
        "claimed_by": callback.claimed_by,
        "holder": holder,
        "contact_id": callback.contact_id,
        "created_at": callback.created_at.isoformat(),
        "waiting_s": max(0, int((ends - callback.created_at).total_seconds())),
    }


def queue(session: Session, who: Principal, now: datetime, rules: QueueRules,
          view: str = "api.callbacks") -> list[dict[str, Any]]:
    """Queued and claimed requests of the areas one sees, and for leads the failed ones
    with their history. Each row shows a resident's number, so each read is logged."""
    release_stale_claims(session, now, rules)
    states = ["queued", "claimed"] + (["failed"] if who.can("lead") else [])
    rows = list(session.scalars(
        select(CallbackRequest)
        .where(CallbackRequest.state.in_(states),
               in_visible_area(who, CallbackRequest.area_code, CallbackRequest.claimed_by))
        .order_by(CallbackRequest.priority.desc(), CallbackRequest.created_at,
                  CallbackRequest.id)))
    names = {i: n for i, n in session.execute(select(Staff.id, Staff.name).where(
        Staff.id.in_({r.claimed_by for r in rows if r.claimed_by})))}
    items = []
    for callback in rows:
        contact = session.get(Contact, callback.contact_id) if callback.contact_id else None
        if contact is not None:
            log_access(session, who, view, contact=contact)
        item = callback_json(callback, now, names.get(callback.claimed_by or 0))
        if callback.state == "failed":
            item["history"] = history(session, callback.id)
        items.append(item)
    return items


def history(session: Session, callback_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(CallbackAttempt, Staff.name).join(Staff, Staff.id == CallbackAttempt.staff_id)
        .where(CallbackAttempt.callback_id == callback_id).order_by(CallbackAttempt.id))
    return [{"result": a.result, "notes": a.notes, "at": a.at.isoformat(), "by": name}
            for a, name in rows]
