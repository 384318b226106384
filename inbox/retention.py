"""Retention: what the service keeps no longer than it must, once a day.

- Raw inbound mail: its bytes are dropped `raw_days` after it was routed (the row stays, so
  a redelivery of the same mail is still recognised and stores nothing twice; mail kept
  for manual handling is not routed, so it stays whole until a lead deals with it).
- Secure-message portal links past their expiry are removed with what they hold (the
  address, code hashes); the message itself stays in the resident's record, as the case's.
- The use and disclosure logs: rows older than `log_years` go, whole seals at a time (the
  database refuses any younger row; inbox/audit.py `prune`).
- Residents whose retention period has ended (`years` after their latest case closed, or
  after their latest contact when they never had a case; the rule erasure applies,
  inbox/rights.py `retention_rule`) are reported for an admin to
  erase with a reason: erasure cannot be undone and a matter may still need the data (an
  appeal, a new case under way), so a person decides.

The timer calls `daily` every minute; it runs at most once per Helsinki day, remembered in
`retention_runs` so a restart does not run it again, and one process at a time (a
PostgreSQL advisory lock, as the use log's sealer).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select, text, update
from sqlalchemy.orm import Session

from inbox.access import Principal
from inbox.audit import prune
from inbox.errors import Problem
from inbox.hours import HELSINKI
from inbox.models import Case, Contact, RawInbound, Resident, RetentionRun, SecureLink
from inbox.rights import retention_rule
from inbox.secure import expire_link

log = logging.getLogger(__name__)
RETENTION_LOCK = 0x7E7E  # PostgreSQL advisory lock: one run at a time, across processes
DUE_LISTED = 1000  # residents due named in one run's row


@dataclass(frozen=True)
class RetentionRules:
    years: int = 10
    raw_days: int = 90
    log_years: int = 12  # the use and disclosure logs (never below what was once set)


def _locked(session: Session, wait: bool = False) -> bool:
    """The run's lock until the transaction ends; `wait` queues behind a run under way."""
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: the embedded default is one process
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": RETENTION_LOCK})
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"),
                               {"k": RETENTION_LOCK}))


def purge_raw(session: Session, now: datetime, days: int) -> int:
    cutoff = now - timedelta(days=days)
    done = session.execute(update(RawInbound).where(
        RawInbound.state == "processed", RawInbound.received_at < cutoff)
        .values(data=b"", envelope={}, state="purged").execution_options(
            synchronize_session=False))  # one statement; no mail's bytes are loaded
    return int(done.rowcount)  # type: ignore[attr-defined]


def remove_expired_links(session: Session, now: datetime) -> int:
    links = list(session.scalars(select(SecureLink).where(SecureLink.expires_at < now)))
    for link in links:
        expire_link(session, link)
        session.delete(link)
    return len(links)


def residents_due(session: Session, now: datetime, years: int) -> list[int]:
    """Residents not erased whose retention period has ended, by the rule erasure keeps
    (inbox/rights.py `retention_rule`), read for all residents in three queries."""
    today = now.astimezone(HELSINKI).date()
    still_open = or_(Case.status != "closed", Case.closed_at.is_(None))
    cases = {rid: (bool(n_open), closed) for rid, n_open, closed in session.execute(
        select(Case.resident_id, func.sum(case((still_open, 1), else_=0)),
               func.max(Case.closed_at)).group_by(Case.resident_id))}
    latest = dict(session.execute(select(Contact.resident_id, func.max(Contact.received_at))
                                  .where(Contact.resident_id.is_not(None))
                                  .group_by(Contact.resident_id)).all())
    due = []
    for resident_id in session.scalars(select(Resident.id).where(Resident.erased_at.is_(None))
                                       .order_by(Resident.id)):
        n_open, closed = cases.get(resident_id, (False, None))
        kept = retention_rule(n_open, closed, latest.get(resident_id), resident_id in cases,
                              years)
        if not kept.open_case and (kept.ends is None or kept.ends <= today):
            due.append(resident_id)
    return due


def run(session: Session, now: datetime, rules: RetentionRules, trigger: str = "cli"
        ) -> dict[str, Any]:
    """One run now, asked for by an operator: it waits for a run under way (the timer's
    takes a moment) rather than sending them away."""
    _locked(session, wait=True)
    return _run(session, now, rules, trigger)


def _run(session: Session, now: datetime, rules: RetentionRules, trigger: str
         ) -> dict[str, Any]:
    due = residents_due(session, now, rules.years)
    row = RetentionRun(day=now.astimezone(HELSINKI).date(), trigger=trigger, at=now,
                       raw_purged=purge_raw(session, now, rules.raw_days),
                       links_removed=remove_expired_links(session, now),
                       logs_pruned=sum(prune(session, now, rules.log_years).values()),
                       residents_due=due[:DUE_LISTED])
    session.add(row)
    session.flush()
    log.info("retention (%s): %s raw mails' bytes dropped, %s expired portal links removed, "
             "%s log rows past their retention removed, %s residents' retention ended",
             trigger, row.raw_purged, row.links_removed, row.logs_pruned, len(due))
    return run_json(row, len(due))


def daily(session: Session, now: datetime, rules: RetentionRules) -> dict[str, Any] | None:
    """The timer's: a run unless one was made this Helsinki day (by the timer or the CLI)."""
    if not _locked(session):
        return None
    today = now.astimezone(HELSINKI).date()
    if session.scalar(select(RetentionRun.id).where(RetentionRun.day == today).limit(1)):
        return None
    return _run(session, now, rules, "timer")


def run_json(row: RetentionRun, due: int | None = None) -> dict[str, Any]:
    return {"id": row.id, "day": row.day.isoformat(), "trigger": row.trigger,
            "at": row.at.isoformat(), "raw_purged": row.raw_purged,
            "links_removed": row.links_removed, "logs_pruned": row.logs_pruned,
            "residents_due": len(row.residents_due) if due is None else due,
            "residents_due_ids": list(row.residents_due)}


def runs(session: Session, who: Principal, limit: int = 100) -> list[dict[str, Any]]:
    """The latest runs, for admins (the ids due are theirs to act on)."""
    if not who.can("erase"):
        raise Problem(403, "Admins only", "retention runs are read by admins", code="role.admin")
    return [run_json(r) for r in session.scalars(
        select(RetentionRun).order_by(RetentionRun.id.desc()).limit(limit))]
