"""Follow-ups falling due: raised once on their day, listed on the counsellor's start page.

`raise_due` is the timer's work (the serve's minute ticker; under issue 10's lock when
several processes run): each due follow-up is marked `reminded_at` in the same transaction
that emits its reminder, so a restart raises nothing twice. It also refreshes the urgency
of open cases whose key dates come closer with each day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from inbox.access import Principal, in_visible_area, log_access
from inbox.cases import refresh_urgency
from inbox.models import Case, FollowUp, Resident
from inbox.store import emit
from inbox.taxonomy import CaseVocabulary


def raise_due(session: Session, today: date, now: datetime, vocab: CaseVocabulary) -> int:
    due = list(session.scalars(
        select(FollowUp).join(Case, Case.id == FollowUp.case_id)
        .where(FollowUp.due <= today, FollowUp.done_at.is_(None),
               FollowUp.reminded_at.is_(None), Case.status == "open")
        .with_for_update(skip_locked=True)))
    for follow_up in due:
        follow_up.reminded_at = now
        case = session.get(Case, follow_up.case_id)
        assert case is not None
        event: dict[str, Any] = {"type": "followup.due", "follow_up_id": follow_up.id,
                                 "case_id": case.id, "kind": follow_up.kind,
                                 "due": follow_up.due.isoformat(), "area": case.area_code}
        if case.counsellor_id:
            event["only_staff"] = case.counsellor_id
        emit(session, event)
    for case in session.scalars(select(Case).where(
            Case.status == "open",
            or_(Case.eviction_date.is_not(None), Case.hearing_date.is_not(None),
                Case.discharge_date.is_not(None), Case.urgency != "normal"))):
        if refresh_urgency(session, case, today, vocab):
            emit(session, {"type": "case.updated", "case_id": case.id,
                           "area": case.area_code, "assignee_id": case.counsellor_id})
    return len(due)


def due_soon(session: Session, who: Principal, today: date, days: int = 7
             ) -> list[dict[str, Any]]:
    """This week's and overdue follow-ups of one's own cases (leads: of all)."""
    query = (select(FollowUp, Case, Resident.name)
             .join(Case, Case.id == FollowUp.case_id)
             .join(Resident, Resident.id == Case.resident_id)
             .where(FollowUp.done_at.is_(None), Case.status == "open",
                    FollowUp.due <= today + timedelta(days=days)))
    if not who.sees_all_areas:
        query = query.where(Case.counsellor_id == who.staff_id,
                            in_visible_area(who, Case.area_code, Case.counsellor_id))
    rows = session.execute(query.order_by(FollowUp.due, FollowUp.id)).all()
    for case in {c.id: c for _, c, _ in rows}.values():  # names shown: each case logged
        log_access(session, who, "follow_ups.due", case=case)
    return [{"id": f.id, "case_id": c.id, "due": f.due.isoformat(), "kind": f.kind,
             "note": f.note, "resident": name, "overdue": f.due < today}
            for f, c, name in rows]
