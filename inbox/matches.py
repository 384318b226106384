"""A public request whose number a known resident has: a counsellor links it or not.

A number typed into a public form proves nothing, so the router only *suggests* the
resident (`Contact.possible_resident_id`); confirming links the contact to that resident
and their open case (or a new one), rejecting gives it a resident and case of its own.
Either way the decision is a routing step with who made it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from inbox.access import Principal, log_access
from inbox.errors import Problem, not_found
from inbox.lookups import open_case_of, resident_visible
from inbox.models import Case, Resident
from inbox.store import emit
from inbox.views import visible_contact


def resolve_possible_match(session: Session, who: Principal, contact_id: int,
                           confirm: bool) -> dict[str, Any]:
    contact = visible_contact(session, who, contact_id)
    candidate = contact.possible_resident_id
    if candidate is None:
        raise Problem(409, "No possible match", f"contact {contact_id} has none to resolve")
    if confirm and not resident_visible(session, who.staff_id, candidate):
        raise not_found(f"resident of contact {contact_id}")  # a lead can link it
    if confirm:
        contact.resident_id = candidate
        case = open_case_of(session, candidate)
        code = "identify.match_confirmed"
    else:
        resident = Resident(language=contact.language)
        session.add(resident)
        session.flush()
        contact.resident_id, case = resident.id, None
        code = "identify.match_rejected"
    if case is None:
        case = Case(resident_id=contact.resident_id, area_code=contact.area_code,
                    counsellor_id=contact.assignee_id,
                    reasons=[contact.reason] if contact.reason else [])
        session.add(case)
        session.flush()
    contact.case_id, contact.possible_resident_id = case.id, None
    steps = list((contact.routing or {}).get("steps", []))
    steps.append({"rule": "identify", "code": code,
                  "params": {"resident_id": contact.resident_id, "by": who.name}})
    contact.routing = {**(contact.routing or {}), "steps": steps}
    log_access(session, who, "contact.possible_match", contact=contact, action="write")
    emit(session, {"type": "contact.updated", "contact_id": contact.id,
                   "area": contact.area_code, "assignee_id": contact.assignee_id})
    return {"contact_id": contact.id, "resident_id": contact.resident_id, "case_id": case.id}
