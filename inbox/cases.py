"""Reading a case, and the rule by which its key dates make it urgent."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.access import Principal, area_visible, log_access
from inbox.errors import not_found
from inbox.hours import HELSINKI
from inbox.models import Case, CaseEvent, Contact, FollowUp, Resident, Staff
from inbox.store import snapshot
from inbox.taxonomy import CaseVocabulary

URGENCY = ("normal", "high", "urgent")  # in rising order


def graver(a: str, b: str) -> str:
    return max(a, b, key=lambda u: URGENCY.index(u) if u in URGENCY else 0)


def date_urgency(case: Case, today: date, vocab: CaseVocabulary) -> str:
    """An eviction within 14 days is urgent; a hearing within 30 days, or a discharge
    within 7, is high (the days are configurable). Dates passed count no more."""
    def within(day: date | None, days: int) -> bool:
        return day is not None and 0 <= (day - today).days <= days
    if within(case.eviction_date, vocab.urgent_eviction_days):
        return "urgent"
    if within(case.hearing_date, vocab.high_hearing_days) or within(
            case.discharge_date, vocab.high_discharge_days):
        return "high"
    return "normal"


def refresh_urgency(session: Session, case: Case, today: date, vocab: CaseVocabulary
                    ) -> bool:
    """Set the case's urgency from its dates and raise (never lower) its open contacts';
    True when anything changed."""
    level = date_urgency(case, today, vocab) if case.status == "open" else "normal"
    changed = level != case.urgency
    case.urgency = level
    for contact in session.scalars(select(Contact).where(Contact.case_id == case.id,
                                                         Contact.status != "closed")):
        raised = graver(contact.urgency, level)
        if raised != contact.urgency:
            contact.urgency, changed = raised, True
    return changed


def visible_case(session: Session, who: Principal, case_id: int) -> Case:
    """The case if this staff member may see it (the one area rule); 404 either way."""
    case = session.get(Case, case_id)
    if case is None or not area_visible(who, case.area_code, case.counsellor_id):
        raise not_found(f"case {case_id}")
    return case


def _masked(resident: Resident | None) -> dict[str, Any] | None:
    """Who the resident is, with identifiers masked: the identity code is never shown,
    only that one was given; phones and emails in part."""
    if resident is None:
        return None
    kinds = {i.kind: i.value for i in resident.identifiers}
    phone = kinds.get("phone")
    email = kinds.get("email")
    return {"id": resident.id, "name": resident.name, "language": resident.language,
            "postal_code": resident.postal_code,
            "phone": f"{phone[:-4]}••••" if phone else None,
            "email": f"{email[0]}•••@{email.rpartition('@')[2]}" if email else None,
            "identity_code_given": "hetu" in kinds}


def case_detail(session: Session, who: Principal, case_id: int, step_labels: dict[int, str],
                view: str = "api.case") -> dict[str, Any]:
    snapshot(session)  # the case and its timeline from one moment
    case = visible_case(session, who, case_id)
    log_access(session, who, view, case=case)
    names = dict(session.execute(select(Staff.id, Staff.name)).all())
    events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                  .order_by(CaseEvent.at, CaseEvent.id)))

    def event(e: CaseEvent) -> dict[str, Any]:
        label = step_labels.get(int(e.code)) if e.kind == "step" and e.code else None
        return {"id": e.id, "kind": e.kind, "code": int(e.code) if e.kind == "step" and e.code
                else e.code, "label": label, "text": e.text,
                "at": e.at.astimezone(HELSINKI).isoformat(),
                "by": names.get(e.staff_id or 0)}
    follow_ups = session.scalars(select(FollowUp).where(FollowUp.case_id == case.id)
                                 .order_by(FollowUp.due, FollowUp.id))
    contacts = session.scalars(  # all of the resident's contacts, on every case and channel
        select(Contact).where(Contact.resident_id == case.resident_id)
        .order_by(Contact.received_at, Contact.id))
    return {
        "id": case.id, "status": case.status, "area": case.area_code,
        "counsellor": {"id": case.counsellor_id, "name": names.get(case.counsellor_id)}
        if case.counsellor_id else None,
        "resident": _masked(session.get(Resident, case.resident_id)),
        "reasons": list(case.reasons or []), "housing_type": case.housing_type,
        "dates": {"eviction": _iso(case.eviction_date), "hearing": _iso(case.hearing_date),
                  "discharge": _iso(case.discharge_date)},
        "urgency": case.urgency, "version": case.version,
        "steps": [event(e) for e in events if e.kind == "step"],
        "interventions": [event(e) for e in events if e.kind == "intervention"],
        "events": [event(e) for e in events],
        "follow_ups": [{"id": f.id, "due": f.due.isoformat(), "kind": f.kind, "note": f.note,
                        "done_at": f.done_at.isoformat() if f.done_at else None}
                       for f in follow_ups],
        "outcome": case.outcome, "previous_case_id": case.previous_case_id,
        "opened_at": case.opened_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "contacts": [{"id": c.id, "channel": c.channel, "at": c.received_at.isoformat(),
                      "status": c.status, "summary": c.summary, "case_id": c.case_id}
                     for c in contacts],
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
