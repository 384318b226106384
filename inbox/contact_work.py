"""Working a contact: correct what the router decided, and keep internal notes.

Each correction is a routing step (`correct.<field>`) with the old and new value, who and
why, so the contact's routing tells its whole story. The area is moved by a transfer
(inbox/chat.transfer), which checks who may take it there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from inbox.access import Principal, can_see, log_access
from inbox.cases import URGENCY
from inbox.chat import transfer
from inbox.contacts import contact_event
from inbox.errors import bad_request
from inbox.identity import redact_identity_codes
from inbox.models import ContactNote
from inbox.store import emit
from inbox.views import visible_contact

FIELDS = ("reason", "who_contacted", "urgency")


def correct_routing(session: Session, who: Principal, contact_id: int,
                    changes: dict[str, Any], why: str, reasons: frozenset[int],
                    who_codes: frozenset[int], now: datetime) -> None:
    contact = visible_contact(session, who, contact_id)
    why = redact_identity_codes(why.strip())
    if not why or len(why) > 2000:
        raise bad_request("why is required (at most 2000 characters)", field="why")
    allowed = {"reason": reasons, "who_contacted": who_codes, "urgency": frozenset(URGENCY)}
    unknown = set(changes) - set(FIELDS)
    if unknown or not changes:
        raise bad_request(f"change one or more of {', '.join(FIELDS)}")
    steps = list((contact.routing or {}).get("steps", []))
    for field, value in changes.items():
        kind = str if field == "urgency" else int
        if isinstance(value, bool) or not isinstance(value, kind) or value not in allowed[field]:
            raise bad_request(f"{field} must be one of the taxonomy's codes", field=field,
                              code=f"{field}.unknown")
        old = getattr(contact, field)
        if old == value:
            continue
        setattr(contact, field, value)
        steps.append({"rule": "correct", "code": f"correct.{field}", "params": {
            "old": old, "new": value, "by": who.name, "by_id": who.staff_id, "why": why,
            "at": now.isoformat()}})
    contact.routing = {**(contact.routing or {}), "steps": steps}
    log_access(session, who, "contact.correct", contact=contact, action="write")
    emit(session, contact_event("contact.updated", contact))


def add_note(session: Session, who: Principal, contact_id: int, text: str, now: datetime
             ) -> ContactNote:
    contact = visible_contact(session, who, contact_id)
    text = redact_identity_codes(text.strip())
    if not text or len(text) > 20_000:
        raise bad_request("text is required (at most 20000 characters)", field="text")
    note = ContactNote(contact_id=contact.id, staff_id=who.staff_id, text=text, at=now)
    session.add(note)
    session.flush()
    log_access(session, who, "contact.note", contact=contact, action="write")
    emit(session, contact_event("contact.updated", contact))
    return note


def correct_contact(session: Session, who: Principal, contact_id: int,
                    changes: dict[str, Any], to_area: str | None, why: str,
                    reasons: frozenset[int], who_codes: frozenset[int], now: datetime) -> bool:
    """One unit: the corrections as routing steps, then a new area as a transfer (to that
    area's pool, with the same why). True when the counsellor still sees the contact."""
    if changes:
        correct_routing(session, who, contact_id, changes, why, reasons, who_codes, now)
    if to_area is None:
        return True
    return can_see(who, transfer(session, who, contact_id, None, to_area, why))
