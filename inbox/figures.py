"""The service's own figures for a period and an area, as codes and counts.

Each figure is one query over what counsellors recorded; words are the reader's (web/).
A period is Helsinki days `first..last` inclusive. Counts are of distinct records:
who contacted and contacts per channel count contacts received in the period; reasons
count cases opened in it (a case with two reasons counts once under each); rent-debt
steps count steps recorded as happening in it; interventions and outcomes count what the
cases that ended in it had; first answer is the time from a contact's arrival to the first
reply or call by staff; open cases and follow-ups are as of the period's last day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from math import ceil
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.access import Principal
from inbox.errors import Problem, bad_request
from inbox.hours import HELSINKI
from inbox.models import Area, CallLog, Case, CaseEvent, Contact, FollowUp, Message, Staff

FIGURES = ("who-contacted", "reasons", "rent-debt-process", "interventions", "outcomes",
           "channels", "first-answer", "open-cases", "follow-ups")
MAX_PERIOD_DAYS = 3653  # ten years


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    area: str | None = None  # None: every area the reader may see
    today: date | None = None  # the service's today (its clock); follow-ups missed by then

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC of the Helsinki days."""
        start = datetime.combine(self.first, time(), HELSINKI)
        end = datetime.combine(self.last + timedelta(days=1), time(), HELSINKI)
        return start, end


def period(session: Session, who: Principal, first: object, last: object,
           area: object, today: date) -> Period:
    """The reader's period, checked: dates in order, at most ten years, a known area that
    is theirs (a counsellor sees their own areas' figures, leads and admins any)."""
    days = []
    for name, value in (("from", first), ("to", last)):
        try:
            days.append(date.fromisoformat(str(value)))
        except ValueError:
            raise bad_request(f"{name} must be a date, e.g. 2026-01-31", field=name,
                              code="period.date") from None
    if days[0] > days[1]:
        raise bad_request("from must not be after to", field="from", code="period.reversed")
    if (days[1] - days[0]).days > MAX_PERIOD_DAYS:
        raise bad_request("a period is at most ten years", field="to", code="period.too_long")
    code = str(area) if area else None
    if code is not None and session.get(Area, code) is None:
        raise bad_request(f"unknown area {code}", field="area", code="area.unknown")
    if not who.sees_all_areas and code is not None and code not in who.areas:
        raise Problem(403, "Not your area", "counsellors see their own areas' figures",
                      code="area.forbidden")
    return Period(days[0], days[1], code, today)


def _in_area(who: Principal, column: Any, chosen: str | None) -> list[Any]:
    if chosen is not None:
        return [column == chosen]
    return [] if who.sees_all_areas else [column.in_(who.areas)]


def _items(counts: Counter[Any], order: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """Known codes in their taxonomy order (zeros kept), then any other, most first."""
    known = list(order)
    rest = sorted((c for c in counts if c not in known), key=lambda c: (-counts[c], str(c)))
    return [{"code": code, "count": counts.get(code, 0)} for code in [*known, *rest]]


def who_contacted(session: Session, who: Principal, p: Period, order: Iterable[Any]
                  ) -> list[dict[str, Any]]:
    start, end = p.bounds()
    rows = session.execute(
        select(Contact.who_contacted, func.count()).where(
            Contact.received_at >= start, Contact.received_at < end,
            *_in_area(who, Contact.area_code, p.area)).group_by(Contact.who_contacted))
    return _items(Counter({key: n for key, n in rows}), order)


def channels(session: Session, who: Principal, p: Period, order: Iterable[Any]
             ) -> list[dict[str, Any]]:
    start, end = p.bounds()
    rows = session.execute(
        select(Contact.channel, func.count()).where(
            Contact.received_at >= start, Contact.received_at < end,
            *_in_area(who, Contact.area_code, p.area)).group_by(Contact.channel))
    return _items(Counter({key: n for key, n in rows}), order)


def reasons(session: Session, who: Principal, p: Period, order: Iterable[Any]
            ) -> list[dict[str, Any]]:
    start, end = p.bounds()
    counts: Counter[Any] = Counter()
    for listed in session.scalars(select(Case.reasons).where(
            Case.opened_at >= start, Case.opened_at < end,
            *_in_area(who, Case.area_code, p.area))):
        counts.update(set(listed or []))
    return _items(counts, order)


def _events(session: Session, who: Principal, p: Period, kind: str, ended: bool
            ) -> Counter[Any]:
    start, end = p.bounds()
    query = select(CaseEvent.code, func.count()).join(Case, Case.id == CaseEvent.case_id)
    if ended:  # what the cases that ended in the period had, whenever it was recorded
        query = query.where(Case.closed_at >= start, Case.closed_at < end)
    else:
        query = query.where(CaseEvent.at >= start, CaseEvent.at < end)
    rows = session.execute(query.where(CaseEvent.kind == kind,
                                       *_in_area(who, Case.area_code, p.area))
                           .group_by(CaseEvent.code))
    return Counter({key: n for key, n in rows})


def rent_debt_process(session: Session, who: Principal, p: Period, order: Iterable[Any]
                      ) -> list[dict[str, Any]]:
    counts = Counter({int(code): n for code, n in _events(session, who, p, "step", False)
                      .items() if code and str(code).isdigit()})
    return _items(counts, order)


def interventions(session: Session, who: Principal, p: Period, order: Iterable[Any]
                  ) -> list[dict[str, Any]]:
    return _items(_events(session, who, p, "intervention", True), order)


def outcomes(session: Session, who: Principal, p: Period, order: Iterable[Any]
             ) -> list[dict[str, Any]]:
    start, end = p.bounds()
    rows = session.execute(select(Case.outcome, func.count()).where(
        Case.closed_at >= start, Case.closed_at < end,
        *_in_area(who, Case.area_code, p.area)).group_by(Case.outcome))
    return _items(Counter({key: n for key, n in rows}), order)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value with `share` of all at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, ceil(share * len(ordered)) - 1)]


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered, mid = sorted(values), len(values) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def first_answer(session: Session, who: Principal, p: Period, order: Iterable[Any] = ()
                 ) -> list[dict[str, Any]]:
    """Per channel and area: how many contacts were answered, median and 90th percentile
    seconds to the first reply (any reply staff wrote) or call logged on the contact."""
    start, end = p.bounds()
    first_reply = (select(Message.conversation_id, func.min(Message.at).label("at"))
                   .where(Message.direction == "out").group_by(Message.conversation_id)
                   .subquery())
    first_call = (select(CallLog.contact_id, func.min(CallLog.started_at).label("at"))
                  .where(CallLog.staff_id.is_not(None)).group_by(CallLog.contact_id)
                  .subquery())
    rows = session.execute(
        select(Contact.channel, Contact.area_code, Contact.received_at,
               first_reply.c.at, first_call.c.at)
        .outerjoin(first_reply, first_reply.c.conversation_id == Contact.conversation_id)
        .outerjoin(first_call, first_call.c.contact_id == Contact.id)
        .where(Contact.received_at >= start, Contact.received_at < end,
               *_in_area(who, Contact.area_code, p.area)))
    waits: dict[tuple[str, str | None], list[float]] = {}
    for channel, area, received, replied, called in rows:
        answered = min((t for t in (replied, called) if t is not None), default=None)
        key = (channel, area)
        waits.setdefault(key, [])
        if answered is not None:
            waits[key].append(max(0.0, (answered - received).total_seconds()))
    return [{"code": channel, "area": area, "count": len(values),
             "median_s": median(values), "p90_s": percentile(values, 0.9)}
            for (channel, area), values in sorted(waits.items(),
                                                  key=lambda kv: (kv[0][0], kv[0][1] or ""))]


def open_cases(session: Session, who: Principal, p: Period, order: Iterable[Any] = ()
               ) -> list[dict[str, Any]]:
    """Cases open at the end of the period, per counsellor (code: staff id; none: nobody)."""
    _, end = p.bounds()
    rows = session.execute(
        select(Case.counsellor_id, Staff.name, func.count())
        .outerjoin(Staff, Staff.id == Case.counsellor_id)
        .where(Case.opened_at < end, (Case.closed_at.is_(None)) | (Case.closed_at >= end),
               *_in_area(who, Case.area_code, p.area))
        .group_by(Case.counsellor_id, Staff.name))
    return sorted(({"code": staff_id, "name": name, "count": n}
                   for staff_id, name, n in rows),
                  key=lambda item: (-item["count"], item["name"] or ""))


def follow_ups(session: Session, who: Principal, p: Period, order: Iterable[Any] = ()
               ) -> list[dict[str, Any]]:
    """Follow-ups due in the period: done on time, done late, missed (not done by the
    period's end, or by the period's `today` if that is sooner), still ahead."""
    end = p.last + timedelta(days=1)
    by = min(p.today, end) if p.today is not None else end
    rows = session.execute(
        select(FollowUp.due, FollowUp.done_at).join(Case, Case.id == FollowUp.case_id)
        .where(FollowUp.due >= p.first, FollowUp.due <= p.last,
               *_in_area(who, Case.area_code, p.area)))
    counts: Counter[str] = Counter()
    for due, done_at in rows:
        if done_at is not None:
            done_day = done_at.astimezone(HELSINKI).date()
            counts["done_on_time" if done_day <= due else "done_late"] += 1
        elif due < by:
            counts["missed"] += 1
        else:
            counts["ahead"] += 1
    return _items(counts, ("done_on_time", "done_late", "missed", "ahead"))


COMPUTE: dict[str, Callable[..., list[dict[str, Any]]]] = {
    "who-contacted": who_contacted, "reasons": reasons, "rent-debt-process": rent_debt_process,
    "interventions": interventions, "outcomes": outcomes, "channels": channels,
    "first-answer": first_answer, "open-cases": open_cases, "follow-ups": follow_ups,
}


def figure(session: Session, who: Principal, name: str, p: Period, order: Iterable[Any]
           ) -> dict[str, Any]:
    """`{items: [{code, count, …}], total}` of one figure."""
    if name not in COMPUTE:
        raise Problem(404, "No such report", f"reports are {', '.join(FIGURES)}",
                      code="report.unknown")
    items = COMPUTE[name](session, who, p, order)
    return {"items": items, "total": sum(item["count"] for item in items)}
