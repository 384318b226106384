"""Letters a counsellor sends a resident: an appointment letter (ajanvarauskirje) and a
contact-request letter (yhteydenottopyyntökirje). The web edge renders the PDF; here is what
the letter may say (read access-logged) and the case event that records it was made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from inbox.access import Principal, log_access
from inbox.case_work import _event, _open_case
from inbox.errors import bad_request
from inbox.models import CaseEvent, Resident, Staff

LETTER_KINDS = ("appointment", "contact_request")


def letter_facts(session: Session, who: Principal, case_id: int) -> dict[str, Any]:
    """Who the letter is to and from, for an open case this staff member may see. Never an
    identifier: the letter names the resident and the counsellor, nothing more."""
    case = _open_case(session, who, case_id)
    log_access(session, who, "case.letter", case=case)
    resident = session.get(Resident, case.resident_id)
    sender = session.get(Staff, who.staff_id)
    return {"case_id": case.id, "area": case.area_code,
            "resident": {"name": resident.name if resident else None,
                         "language": resident.language if resident else None},
            "counsellor": {"name": who.name, "email": who.email,
                           "phone": sender.phone if sender else None}}


def record_letter(session: Session, who: Principal, case_id: int, kind: object, summary: str,
                  now: datetime) -> CaseEvent:
    """The case event "letter" (code: its kind) once the letter is made."""
    if kind not in LETTER_KINDS:
        raise bad_request(f"kind must be one of {', '.join(LETTER_KINDS)}", field="kind",
                          code="letter.unknown")
    return _event(session, who, _open_case(session, who, case_id), "letter", str(kind),
                  summary, now)

