"""The logs' tamper evidence: seals, each a SHA-256 over a run of rows and the seal before
it, so a changed, removed or slipped-in row breaks the chain from there on. The use log
(access_log) and the disclosure log (disclosure_log) have a chain each.

Rows are written with no lock (every read writes one): sealing runs apart, once a minute
under a lock, over the rows in id order up to the first one younger than a minute (a
transaction still open could commit a lower id later, and ids need not follow the times;
a minute is far longer than any of ours). The timer passes the real time, never a clock a
test has set. Rows and seals are append-only in the
database itself (migrations 0014 and 0015).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from inbox.hours import add_years as _add_years
from inbox.models import (
    AccessLog,
    AccessLogSeal,
    DisclosureLog,
    DisclosureLogSeal,
    LogPrune,
    LogRetentionFloor,
)

GENESIS = "0" * 64
BATCH = 5000
SETTLE = timedelta(minutes=1)
SEAL_LOCK = 0x5EA1  # PostgreSQL advisory lock: one sealer at a time, across processes
# Each log, its seals and the columns a seal covers (in this order).
LOGS: dict[str, tuple[Any, Any, tuple[str, ...]]] = {
    "use": (AccessLog, AccessLogSeal, ("id", "staff_id", "actor", "view", "action",
                                       "contact_id", "resident_id", "case_id", "basis", "at")),
    "disclosure": (DisclosureLog, DisclosureLogSeal, (
        "id", "staff_id", "resident_id", "contact_id", "case_id", "kind", "recipient",
        "basis", "detail", "at")),
}


def _line(row: Any, columns: tuple[str, ...]) -> str:
    values = []
    for name in columns:
        value = getattr(row, name)
        if isinstance(value, datetime):
            value = value.isoformat(timespec="microseconds")
        values.append("" if value is None else str(value))
    return "|".join(values)


def _digest(prev: str, rows: list[Any], columns: tuple[str, ...]) -> str:
    h = hashlib.sha256(prev.encode())
    for row in rows:
        h.update(b"\n" + _line(row, columns).encode())
    return h.hexdigest()


def seal(session: Session, now: datetime) -> int:
    """Seal each log's settled rows not yet sealed; returns how many rows it sealed."""
    if session.get_bind().dialect.name == "postgresql":
        if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SEAL_LOCK}):
            return 0  # another process is sealing
    sealed = 0
    for model, seals, columns in LOGS.values():
        last = session.scalars(select(seals).order_by(seals.last_id.desc()).limit(1)).first()
        after, prev = (last.last_id, last.hash) if last else (0, GENESIS)
        rows = []  # in id order, up to the first row not yet settled: a run never has a hole
        # Plain rows of the sealed columns, not objects: a minute's reads are thousands of
        # rows, and loading them as objects held the serve's other requests for 300 ms.
        for row in session.execute(select(*(getattr(model, c) for c in columns))
                                   .where(model.id > after).order_by(model.id).limit(BATCH)):
            if row.at >= now - SETTLE:
                break
            rows.append(row)
        if rows:
            session.add(seals(first_id=rows[0].id, last_id=rows[-1].id, rows=len(rows),
                              prev_hash=prev, hash=_digest(prev, rows, columns), at=now))
            sealed += len(rows)
    return sealed


@dataclass
class Verdict:
    log: str
    seals: int
    rows: int
    unsealed: int
    broken_at: int | None  # the first seal whose rows or link do not match
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def _start(session: Session, log: str) -> tuple[str, int]:
    """Where the chain begins: its genesis, or the seal retention last cut it at."""
    cut = session.scalars(select(LogPrune).where(LogPrune.log == log)
                          .order_by(LogPrune.up_to_id.desc()).limit(1)).first()
    return (cut.last_hash, cut.up_to_id) if cut else (GENESIS, 0)


def verify(session: Session, log: str = "use") -> Verdict:
    """Walk every seal of one log: its link to the one before, its rows' count and hash."""
    model, seals, columns = LOGS[log]
    (prev, after), count, seen = _start(session, log), 0, 0
    for s in session.scalars(select(seals).order_by(seals.last_id)):
        count += 1
        rows = list(session.scalars(select(model).where(
            model.id > after, model.id <= s.last_id).order_by(model.id)))
        seen += len(rows)
        if s.prev_hash != prev:
            return Verdict(log, count, seen, 0, s.id, "a seal is missing or changed before it")
        if len(rows) != s.rows or _digest(prev, rows, columns) != s.hash:
            return Verdict(log, count, seen, 0, s.id, "its rows were changed, removed or added")
        prev, after = s.hash, s.last_id
    unsealed = session.scalar(select(func.count()).select_from(model)
                              .where(model.id > after)) or 0
    return Verdict(log, count, seen, unsealed, None)


def prune(session: Session, now: datetime, years: int) -> dict[str, int]:
    """Remove each log's rows older than `years` (never younger than the longest period
    once set: the database refuses that), whole seals at a time, and note where the chain
    was cut. Returns the rows removed per log."""
    floor = session.scalar(select(func.max(LogRetentionFloor.years))) or 0
    if years > floor:  # a longer period is recorded; a shorter one never applies
        session.add(LogRetentionFloor(years=years, at=now))
        floor = years
    cutoff = _add_years(now, -floor)
    removed = {}
    for log, (model, seals, _columns) in LOGS.items():
        old = []  # the chain's oldest seals, up to the first one still within the period
        for s in session.scalars(select(seals).order_by(seals.last_id)):
            if s.at >= cutoff:
                break
            old.append(s)
        if not old:
            removed[log] = 0
            continue
        last = old[-1]
        gone = session.execute(delete(model).where(model.id <= last.last_id))
        session.execute(delete(seals).where(seals.last_id <= last.last_id))
        removed[log] = int(getattr(gone, "rowcount", 0) or 0)
        session.add(LogPrune(log=log, up_to_id=last.last_id, last_hash=last.hash,
                             rows=removed[log], at=now))
    return removed
