"""Carrying a case through the housing-counselling process: what a counsellor records.

Appends (steps, interventions, events, notes, follow-ups) never overwrite anything, so
two counsellors may add at once. Edits that overwrite (reasons, housing, key dates) name
the `version` they saw: if someone saved in between, the second gets a 409 and nothing is
lost. A closed case takes nothing more; a later contact opens a new case linked to it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from inbox.access import Principal, log_access
from inbox.cases import refresh_urgency, visible_case
from inbox.errors import MAX_ID, Problem, bad_request, not_found
from inbox.identity import redact_identity_codes
from inbox.models import Case, CaseEvent, FollowUp, Staff
from inbox.store import emit
from inbox.taxonomy import CaseVocabulary

EVENT_KINDS = ("partner", "goal", "meeting", "note")
MAX_TEXT = 20_000
HORIZON = timedelta(days=731)  # a follow-up plan spans at most 24 months
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 1, 1)  # key dates a person means


def _open_case(session: Session, who: Principal, case_id: int) -> Case:
    case = visible_case(session, who, case_id)
    if case.status != "open":
        raise Problem(409, "Case closed", f"case {case_id} is closed; a new contact opens "
                                          "a new case linked to it", code="case.closed")
    return case


def _changed(session: Session, who: Principal, case: Case, view: str) -> None:
    log_access(session, who, view, case=case, action="write")
    emit(session, {"type": "case.updated", "case_id": case.id, "area": case.area_code,
                   "assignee_id": case.counsellor_id})


def _text(value: str) -> str:
    if len(value) > MAX_TEXT:
        raise bad_request(f"text must be at most {MAX_TEXT} characters", field="text")
    return redact_identity_codes(value.strip())


def _event(session: Session, who: Principal, case: Case, kind: str, code: str | None,
           text: str, at: datetime) -> CaseEvent:
    event = CaseEvent(case_id=case.id, kind=kind, code=code, text=_text(text), at=at,
                      staff_id=who.staff_id)  # created_at: now, whatever day it happened
    session.add(event)
    session.flush()
    _changed(session, who, case, f"case.{kind}")
    return event


def add_step(session: Session, who: Principal, case_id: int, code: object,
             at: datetime, vocab: CaseVocabulary) -> CaseEvent:
    """A rent-debt process step (the 14-step taxonomy) with its date."""
    if isinstance(code, bool) or not isinstance(code, int) or code not in vocab.steps:
        raise bad_request(f"code must be a rent-debt process step: "
                          f"{', '.join(map(str, sorted(vocab.steps)))}", field="code",
                          code="step.unknown")
    return _event(session, who, _open_case(session, who, case_id), "step", str(code), "", at)


def add_intervention(session: Session, who: Principal, case_id: int, code: object,
                     note: str, at: datetime, vocab: CaseVocabulary) -> CaseEvent:
    if code not in vocab.interventions:
        raise bad_request(f"code must be one of {', '.join(vocab.interventions)}",
                          field="code", code="intervention.unknown")
    return _event(session, who, _open_case(session, who, case_id), "intervention",
                  str(code), note, at)


def add_event(session: Session, who: Principal, case_id: int, kind: object, code: object,
              text: str, at: datetime, vocab: CaseVocabulary) -> CaseEvent:
    """A partner in network work, a goal set with the resident, a meeting (office, home
    visit, phone advice, network meeting), or a note (internal, never sent)."""
    allowed = {"partner": vocab.partners, "meeting": vocab.meetings}
    if kind not in EVENT_KINDS:
        raise bad_request(f"kind must be one of {', '.join(EVENT_KINDS)}", field="kind")
    if kind in allowed and code not in allowed[str(kind)]:
        raise bad_request(f"code must be one of {', '.join(allowed[str(kind)])}",
                          field="code", code=f"{kind}.unknown")
    if kind in ("goal", "note") and not text.strip():
        raise bad_request("text is required", field="text")
    return _event(session, who, _open_case(session, who, case_id), str(kind),
                  str(code) if kind in allowed else None, text, at)


def plan_follow_up(session: Session, who: Principal, case_id: int, due: date, kind: object,
                   note: str, today: date, vocab: CaseVocabulary) -> FollowUp:
    if kind not in vocab.follow_up_kinds:
        raise bad_request(f"kind must be one of {', '.join(vocab.follow_up_kinds)}",
                          field="kind")
    case = _open_case(session, who, case_id)
    if due < today:
        raise bad_request("due must be today or later", field="due", code="due.past")
    if due > case.opened_at.date() + HORIZON:
        raise bad_request("due must be within 24 months of the case's opening",
                          field="due", code="due.too_far")
    follow_up = FollowUp(case_id=case.id, due=due, kind=str(kind), note=_text(note),
                         created_by=who.staff_id)
    session.add(follow_up)
    session.flush()
    _changed(session, who, case, "case.follow_up")
    return follow_up


def complete_follow_up(session: Session, who: Principal, follow_up_id: int, now: datetime
                       ) -> FollowUp:
    follow_up = session.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise not_found(f"follow-up {follow_up_id}")
    case = visible_case(session, who, follow_up.case_id)
    if follow_up.done_at is None:
        follow_up.done_at = now
        _changed(session, who, case, "case.follow_up_done")
    return follow_up


def update_case(session: Session, who: Principal, case_id: int, version: object,
                changes: dict[str, Any], today: date, vocab: CaseVocabulary) -> Case:
    """Reasons, housing type and key dates; only over the version the editor saw."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise bad_request("version (the case's version you saw) is required", field="version")
    case = _open_case(session, who, case_id)
    values: dict[str, Any] = {}
    if "reasons" in changes:
        reasons = changes["reasons"]
        if not isinstance(reasons, list) or any(
                isinstance(r, bool) or not isinstance(r, int) or r not in vocab.reasons
                for r in reasons):
            raise bad_request("reasons must be reason codes", field="reasons")
        values["reasons"] = sorted(set(reasons))
    if "housing_type" in changes:
        if not isinstance(changes["housing_type"], str | None) or \
                changes["housing_type"] not in (*vocab.housing_types, None):
            raise bad_request(f"housing_type must be one of {', '.join(vocab.housing_types)}",
                              field="housing_type")
        values["housing_type"] = changes["housing_type"]
    for name in ("eviction_date", "hearing_date", "discharge_date"):
        if name in changes:
            values[name] = _date(changes[name], name)
    done = session.execute(
        update(Case).where(Case.id == case.id, Case.version == version)
        .values(version=Case.version + 1, **values).execution_options(
            synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Problem(409, "Edited meanwhile", f"case {case_id} was changed by someone else "
                      "since you opened it; reload to see their changes, then save again",
                      code="case.edited")
    session.refresh(case)
    refresh_urgency(session, case, today, vocab)
    _changed(session, who, case, "case.edit")
    return case


def close_case(session: Session, who: Principal, case_id: int, outcome: object, note: str,
               now: datetime, vocab: CaseVocabulary) -> Case:
    if outcome not in vocab.outcomes:
        raise bad_request(f"outcome must be one of {', '.join(vocab.outcomes)}",
                          field="outcome", code="outcome.unknown")
    case = _open_case(session, who, case_id)
    done = session.execute(update(Case).where(Case.id == case.id, Case.status == "open")
                           .values(status="closed", outcome=outcome, closed_at=now,
                                   urgency="normal", version=Case.version + 1)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Problem(409, "Case closed", f"case {case_id} was closed meanwhile",
                      code="case.closed")
    session.refresh(case)
    _event(session, who, case, "closed", str(outcome), note, now)
    return case


def hand_over(session: Session, who: Principal, case_id: int, to_staff_id: object, note: str,
              now: datetime) -> Case:
    """To another counsellor, with a note; the case goes with them."""
    case = _open_case(session, who, case_id)
    target = session.get(Staff, to_staff_id) if isinstance(to_staff_id, int) and \
        not isinstance(to_staff_id, bool) and 0 < to_staff_id <= MAX_ID else None
    if target is None:
        raise bad_request("to_staff_id must be a staff member's id", field="to_staff_id")
    if target.id == case.counsellor_id:
        raise Problem(409, "Already theirs", f"case {case_id} is {target.name}'s already",
                      code="case.already_theirs")
    case.counsellor_id = target.id
    case.version += 1
    _event(session, who, case, "handover", str(target.id), note, now)
    return case


def _date(value: object, name: str) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(str(value))
    except ValueError as exc:
        raise bad_request(f"{name} must be a date (YYYY-MM-DD) or null", field=name) from exc
    if not EARLIEST <= day <= LATEST:
        raise bad_request(f"{name} must be between {EARLIEST} and {LATEST}", field=name,
                          code="date.out_of_range")
    return day
