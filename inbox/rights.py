"""The resident's rights: the export of all their data, and erasure where the law allows.

The export is the resident's own data given to them (or to staff for them): identity, every
contact with its messages (attachments' bytes opened through the at-rest sealer), internal
notes, calls, callback requests, and their cases with events and follow-ups. Giving it is a
disclosure (to the resident, on their request) and a use of each record it reads.

Erasure anonymises: it blanks every text and identifier that tells who the resident is and
what they said, and keeps the codes and dates (reports still count the case) and the logs
(append-only; their rows point at the anonymised resident). While a case is open, or its
retention period runs (YHTEYS_RETENTION_YEARS after the latest close; for a resident who
never had a case, after their latest contact), it refuses, saying the day it ends.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from inbox.access import Principal, log_access
from inbox.attachments import read_reason
from inbox.crypto import ATTACHMENT_BYTES
from inbox.disclosures import disclose
from inbox.errors import Problem, bad_request, not_found
from inbox.hours import HELSINKI, add_years
from inbox.models import (
    Attachment,
    CallbackAttempt,
    CallbackRequest,
    CallLog,
    Case,
    CaseEvent,
    Contact,
    ContactNote,
    Conversation,
    FollowUp,
    Message,
    RawInbound,
    Resident,
    ResidentIdentifier,
    SecureLink,
    Staff,
)
from inbox.store import sealer_of

HASHED = ("hetu", "chat")  # identifiers kept only as hashes: there is nothing to give back
MAX_REASON = 1000


class RetentionRunning(Problem):
    """409: the retention period still runs; `ends` is the day it ends (None: a case is
    open, so it has not started)."""

    def __init__(self, ends: date | None, detail: str):
        super().__init__(409, "Retention period running", detail, code="retention.running")
        self.ends = ends


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _resident_or_404(session: Session, resident_id: int) -> Resident:
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise Problem(404, "Not found", f"no resident {resident_id}", code="resident.unknown")
    return resident


def _holds(session: Session, who: Principal, resident_id: int) -> bool:
    """The resident's own counsellor: their case, or one of their contacts, is this one's."""
    return session.scalar(select(Case.id).where(
        Case.resident_id == resident_id, Case.counsellor_id == who.staff_id).limit(1)
    ) is not None or session.scalar(select(Contact.id).where(
        Contact.resident_id == resident_id, Contact.assignee_id == who.staff_id).limit(1)
    ) is not None


def may_export(session: Session, who: Principal, resident_id: int) -> Resident:
    """Leads and admins any resident; a counsellor the residents they hold (others: 404, as
    for one that does not exist); every other role 403."""
    if not (who.can("export") or who.can("export_own")):
        raise Problem(403, "Not allowed", "a resident's export is given by leads, admins "
                      "and the resident's own counsellor", code="role.export")
    resident = _resident_or_404(session, resident_id)
    if not who.can("export") and not _holds(session, who, resident_id):
        raise not_found(f"resident {resident_id}")
    return resident


def _attachment(session: Session, a: Attachment) -> dict[str, Any]:
    reason = read_reason(a.quarantine_reason)
    stored = reason is None or not reason.not_stored
    data = sealer_of(session).open(a.data, ATTACHMENT_BYTES) if stored and a.data else b""
    return {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
            "state": "stored" if stored and data else "not_stored",
            "data_base64": base64.b64encode(data).decode() if data else None}


def _messages(session: Session, conversation_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                           .order_by(Message.at, Message.id))
    return [{"id": m.id, "direction": m.direction, "sender": m.sender, "text": m.text,
             "at": m.at.isoformat(), "secure": m.secure, "delivery": m.delivery_state,
             "attachments": [_attachment(session, a) for a in m.attachments]} for m in rows]


def _callbacks(session: Session, contact_id: int) -> list[dict[str, Any]]:
    out = []
    for c in session.scalars(select(CallbackRequest).where(
            CallbackRequest.contact_id == contact_id).order_by(CallbackRequest.id)):
        attempts = session.scalars(select(CallbackAttempt).where(
            CallbackAttempt.callback_id == c.id).order_by(CallbackAttempt.id))
        out.append({"id": c.id, "phone": c.phone, "postal_code": c.postal_code,
                    "language": c.language, "reason": c.reason, "topic": c.topic,
                    "state": c.state, "window_from": _iso(c.window_from),
                    "window_to": _iso(c.window_to), "created_at": c.created_at.isoformat(),
                    "closed_at": _iso(c.closed_at),
                    "attempts": [{"result": a.result, "notes": a.notes, "at": a.at.isoformat()}
                                 for a in attempts]})
    return out


def _contact(session: Session, contact: Contact, names: dict[int, str]) -> dict[str, Any]:
    conversation = session.get(Conversation, contact.conversation_id)
    notes = session.scalars(select(ContactNote).where(ContactNote.contact_id == contact.id)
                            .order_by(ContactNote.at, ContactNote.id))
    return {"id": contact.id, "channel": contact.channel, "status": contact.status,
            "received_at": contact.received_at.isoformat(), "area": contact.area_code,
            "reason": contact.reason, "who_contacted": contact.who_contacted,
            "urgency": contact.urgency, "language": contact.language,
            "summary": contact.summary, "case_id": contact.case_id,
            "subject": conversation.subject if conversation else None,
            "assignee": names.get(contact.assignee_id or 0),
            "messages": _messages(session, contact.conversation_id),
            "notes": [{"text": n.text, "at": n.at.isoformat(), "by": names.get(n.staff_id)}
                      for n in notes],
            "callbacks": _callbacks(session, contact.id)}


def _case(session: Session, case: Case, names: dict[int, str]) -> dict[str, Any]:
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                             .order_by(CaseEvent.at, CaseEvent.id))
    follow_ups = session.scalars(select(FollowUp).where(FollowUp.case_id == case.id)
                                 .order_by(FollowUp.due, FollowUp.id))
    return {"id": case.id, "status": case.status, "area": case.area_code,
            "counsellor": names.get(case.counsellor_id or 0),
            "reasons": list(case.reasons or []), "housing_type": case.housing_type,
            "dates": {"eviction": _iso(case.eviction_date), "hearing": _iso(case.hearing_date),
                      "discharge": _iso(case.discharge_date)},
            "outcome": case.outcome, "opened_at": case.opened_at.isoformat(),
            "closed_at": _iso(case.closed_at),
            "events": [{"kind": e.kind, "code": e.code, "text": e.text, "at": e.at.isoformat(),
                        "by": names.get(e.staff_id or 0)} for e in events],
            "follow_ups": [{"due": f.due.isoformat(), "kind": f.kind, "note": f.note,
                            "done_at": _iso(f.done_at)} for f in follow_ups]}


def export_resident(session: Session, who: Principal, resident_id: int, now: datetime,
                    form: str = "json") -> dict[str, Any]:
    """All of the resident's data. Each contact and case read is a use-log row; the whole is
    one disclosure (kind export, to the resident, on their request)."""
    resident = may_export(session, who, resident_id)
    names = dict(session.execute(select(Staff.id, Staff.name)).all())
    contacts = list(session.scalars(select(Contact).where(Contact.resident_id == resident_id)
                                    .order_by(Contact.received_at, Contact.id)))
    cases = list(session.scalars(select(Case).where(Case.resident_id == resident_id)
                                 .order_by(Case.opened_at, Case.id)))
    contact_ids = [c.id for c in contacts]
    calls = session.scalars(select(CallLog).where(or_(
        CallLog.resident_id == resident_id, CallLog.contact_id.in_(contact_ids or [-1])))
        .order_by(CallLog.started_at, CallLog.id))
    for contact in contacts:
        log_access(session, who, "rights.export", contact=contact)
    for case in cases:
        log_access(session, who, "rights.export", case=case)
    if not contacts and not cases:
        log_access(session, who, "rights.export", resident_id=resident_id)
    disclose(session, "export", "resident", "resident_request", staff_id=who.staff_id,
             resident_id=resident_id, detail=form)
    return {
        "made_at": now.isoformat(),
        "resident": {
            "id": resident.id, "name": resident.name, "language": resident.language or "fi",
            "postal_code": resident.postal_code, "created_at": resident.created_at.isoformat(),
            "erased_at": _iso(resident.erased_at),
            "identifiers": [{"kind": i.kind, "value": None if i.kind in HASHED else i.value,
                             "stored_as": "keyed_hash" if i.kind in HASHED else "text"}
                            for i in resident.identifiers]},
        "contacts": [_contact(session, c, names) for c in contacts],
        "cases": [_case(session, c, names) for c in cases],
        "calls": [{"id": c.id, "direction": c.direction, "phone": c.phone,
                   "started_at": c.started_at.isoformat(), "duration_s": c.duration_s,
                   "notes": c.notes, "by": names.get(c.staff_id or 0),
                   "contact_id": c.contact_id} for c in calls],
    }


@dataclass(frozen=True)
class Retention:
    """A resident's retention period: `open_case` (it has not started), else the day it
    ends (None: nothing of theirs to keep)."""

    open_case: bool
    ends: date | None
    since: str  # what it runs from: "case" (the latest close) or "contact" (the latest)


def retention_rule(still_open: bool, closed: datetime | None, contacted: datetime | None,
                   had_case: bool, years: int) -> Retention:
    """The one rule: no open case, and `years` after the latest case closed; with no case,
    `years` after the latest contact (nothing at all: nothing to keep)."""
    if still_open:
        return Retention(True, None, "case")
    since = closed if had_case else contacted
    if since is None:
        return Retention(False, None, "case" if had_case else "contact")
    if since.tzinfo is None:  # SQLite hands an aggregate back naive (it is UTC)
        since = since.replace(tzinfo=UTC)
    return Retention(False, add_years(since.astimezone(HELSINKI).date(), years),
                     "case" if had_case else "contact")


def retention_end(session: Session, resident_id: int, years: int) -> Retention:
    """The rule for one resident (inbox/retention.py applies it to all at once)."""
    cases = list(session.execute(select(Case.status, Case.closed_at).where(
        Case.resident_id == resident_id)))
    contacted = session.scalar(select(func.max(Contact.received_at)).where(
        Contact.resident_id == resident_id))
    still_open = any(status != "closed" or closed is None for status, closed in cases)
    closes = [closed for _, closed in cases if closed is not None]
    return retention_rule(still_open, max(closes, default=None), contacted, bool(cases),
                          years)


def erase_resident(session: Session, who: Principal, resident_id: int, reason: object,
                   now: datetime, years: int) -> dict[str, Any]:
    """Anonymise the resident (admins, with a reason), or refuse while retention runs."""
    if not who.can("erase"):
        raise Problem(403, "Admins only", "erasure is done by an admin", code="role.admin")
    if not isinstance(reason, str) or not reason.strip():
        raise bad_request("reason is required: why the data is erased", field="reason",
                          code="reason.required")
    if len(reason) > MAX_REASON:
        raise bad_request(f"reason must be at most {MAX_REASON} characters", field="reason",
                          code="reason.too_long")
    resident = _resident_or_404(session, resident_id)
    if resident.erased_at is not None:
        raise Problem(409, "Erased already", f"resident {resident_id} was erased on "
                      f"{resident.erased_at.date().isoformat()}", code="resident.erased")
    kept = retention_end(session, resident_id, years)
    if kept.open_case:
        raise RetentionRunning(None, "the resident has an open case: its data is kept while "
                               f"it is open and {years} years after it closes")
    if kept.ends is not None and now.astimezone(HELSINKI).date() < kept.ends:
        after = "case closed" if kept.since == "case" else "contact"
        raise RetentionRunning(kept.ends, f"the retention period ({years} years after the "
                               f"latest {after}) ends on {kept.ends.isoformat()}")
    counts = _anonymise(session, resident)
    resident.erased_at, resident.erased_by = now, who.staff_id
    resident.erasure_reason = reason.strip()
    log_access(session, who, "rights.erase", action="write", resident_id=resident_id,
               basis_code=who.role)
    return {"resident_id": resident_id, "erased_at": now.isoformat(), **counts}


def _anonymise(session: Session, resident: Resident) -> dict[str, int]:
    """Blank what tells who the resident is and what was said; keep codes, dates, rows."""
    resident.name = resident.postal_code = None
    identifiers = session.execute(delete(ResidentIdentifier).where(
        ResidentIdentifier.resident_id == resident.id))
    contacts = list(session.scalars(select(Contact).where(Contact.resident_id == resident.id)))
    ids = [c.id for c in contacts] or [-1]
    conversations = [c.conversation_id for c in contacts] or [-1]
    for contact in contacts:
        contact.summary = ""
        steps = (contact.routing or {}).get("steps", [])
        contact.routing = {"summary": "", "steps": [  # the rules' codes; no names or places
            {"rule": s.get("rule"), "code": s.get("code")} for s in steps]}
    for conversation in session.scalars(select(Conversation).where(
            Conversation.id.in_(conversations))):
        conversation.subject = conversation.reply_to = conversation.contact_email = None
        conversation.token_hash = None
    messages = list(session.scalars(select(Message).where(
        Message.conversation_id.in_(conversations))))
    for m in messages:
        m.text, m.html, m.delivery_error, m.references = "", None, None, []
        if m.direction == "in":
            m.sender, m.channel_message_id = "", None
        for a in m.attachments:
            a.data, a.filename = b"", ""
    for note in session.scalars(select(ContactNote).where(ContactNote.contact_id.in_(ids))):
        note.text = ""
    calls = list(session.scalars(select(CallLog).where(or_(
        CallLog.resident_id == resident.id, CallLog.contact_id.in_(ids)))))
    for call in calls:
        call.phone, call.notes, call.from_number, call.to_number = "", "", None, None
    callbacks = list(session.scalars(select(CallbackRequest).where(
        CallbackRequest.contact_id.in_(ids))))
    for callback in callbacks:
        callback.phone, callback.topic, callback.postal_code = "", "", None
    for attempt in session.scalars(select(CallbackAttempt).where(
            CallbackAttempt.callback_id.in_([c.id for c in callbacks] or [-1]))):
        attempt.notes = ""
    cases = [c.id for c in session.scalars(select(Case).where(
        Case.resident_id == resident.id))] or [-1]
    for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(cases))):
        event.text = ""
    for follow_up in session.scalars(select(FollowUp).where(FollowUp.case_id.in_(cases))):
        follow_up.note = ""
    links = session.execute(delete(SecureLink).where(or_(
        SecureLink.contact_id.in_(ids), SecureLink.conversation_id.in_(conversations))))
    raws = list(session.scalars(select(RawInbound).where(RawInbound.contact_id.in_(ids))))
    for raw in raws:
        # The key stays: a hash of the mail, nothing of the resident, and it is what tells
        # a redelivery of the same mail, which must not bring the erased data back.
        raw.data, raw.envelope, raw.error, raw.state = b"", {}, None, "purged"
    return {"identifiers": identifiers.rowcount, "contacts": len(contacts),  # type: ignore[attr-defined]
            "messages": len(messages), "calls": len(calls), "callbacks": len(callbacks),
            "portal_links": links.rowcount, "raw_mails": len(raws)}  # type: ignore[attr-defined]
