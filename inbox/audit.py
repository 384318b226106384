"""The logs' tamper evidence: seals, each a SHA-256 over a run of rows and the seal before
it, so a changed, removed or slipped-in row breaks the chain from there on. The use log
(access_log) and the disclosure log (disclosure_log) have a chain each.

Rows are written with no lock (every read writes one): sealing runs apart, once a minute
under a lock, over rows older than a minute (a transaction still open could commit a lower
id later; a minute is far longer than any of ours). Rows and seals are append-only in the
database itself (migrations 0014 and 0015).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from inbox.models import AccessLog, AccessLogSeal, DisclosureLog, DisclosureLogSeal

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
        rows = list(session.scalars(select(model).where(
            model.id > after, model.at < now - SETTLE).order_by(model.id).limit(BATCH)))
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


def verify(session: Session, log: str = "use") -> Verdict:
    """Walk every seal of one log: its link to the one before, its rows' count and hash."""
    model, seals, columns = LOGS[log]
    prev, after, count, seen = GENESIS, 0, 0, 0
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
