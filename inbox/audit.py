"""The use log's tamper evidence: seals, each a SHA-256 over a run of rows and the seal
before it, so a changed, removed or slipped-in row breaks the chain from there on.

Rows are written by every read (inbox/access.py `log_access`) with no lock: sealing runs
apart, once a minute under a lock, over rows older than a minute (a transaction still open
could commit a lower id later; a minute is far longer than any of ours). Rows and seals are
append-only in the database itself (migration 0014's triggers).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from inbox.models import AccessLog, AccessLogSeal

GENESIS = "0" * 64
BATCH = 5000
SETTLE = timedelta(minutes=1)
SEAL_LOCK = 0x5EA1  # PostgreSQL advisory lock: one sealer at a time, across processes


def _line(row: AccessLog) -> str:
    at = row.at.isoformat(timespec="microseconds") if row.at else ""
    return "|".join(str(v) if v is not None else "" for v in (
        row.id, row.staff_id, row.actor, row.view, row.action, row.contact_id,
        row.resident_id, row.case_id, row.basis, at))


def _digest(prev: str, rows: list[AccessLog]) -> str:
    h = hashlib.sha256(prev.encode())
    for row in rows:
        h.update(b"\n" + _line(row).encode())
    return h.hexdigest()


def seal(session: Session, now: datetime) -> int:
    """Seal the settled rows not yet sealed; returns how many rows it sealed."""
    if session.get_bind().dialect.name == "postgresql":
        if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SEAL_LOCK}):
            return 0  # another process is sealing
    last = session.scalars(select(AccessLogSeal).order_by(AccessLogSeal.last_id.desc())
                           .limit(1)).first()
    after, prev = (last.last_id, last.hash) if last else (0, GENESIS)
    rows = list(session.scalars(select(AccessLog).where(
        AccessLog.id > after, AccessLog.at < now - SETTLE).order_by(AccessLog.id).limit(BATCH)))
    if not rows:
        return 0
    session.add(AccessLogSeal(first_id=rows[0].id, last_id=rows[-1].id, rows=len(rows),
                              prev_hash=prev, hash=_digest(prev, rows), at=now))
    return len(rows)


@dataclass
class Verdict:
    seals: int
    rows: int
    unsealed: int
    broken_at: int | None  # the first seal whose rows or link do not match
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(session: Session) -> Verdict:
    """Walk every seal: its link to the one before, its rows' count and hash."""
    prev, after, count, rows_seen = GENESIS, 0, 0, 0
    for s in session.scalars(select(AccessLogSeal).order_by(AccessLogSeal.last_id)):
        count += 1
        rows = list(session.scalars(select(AccessLog).where(
            AccessLog.id > after, AccessLog.id <= s.last_id).order_by(AccessLog.id)))
        rows_seen += len(rows)
        if s.prev_hash != prev:
            return Verdict(count, rows_seen, 0, s.id, "a seal is missing or changed before it")
        if len(rows) != s.rows or _digest(prev, rows) != s.hash:
            return Verdict(count, rows_seen, 0, s.id, "its rows were changed, removed or added")
        prev, after = s.hash, s.last_id
    unsealed = session.scalar(select(func.count()).select_from(AccessLog)
                              .where(AccessLog.id > after)) or 0
    return Verdict(count, rows_seen, unsealed, None)
