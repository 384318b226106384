"""Replay protection for signed phone-system events: a signature is accepted once.

Kept for twice the freshness window (a stale event is refused by its timestamp anyway),
in the database so that every serve process refuses the same replay.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from inbox.models import TelephonySignature


def accept_signature(session: Session, signature: str, now: datetime, keep: timedelta
                     ) -> bool:
    """True the first time this signature is seen; False for a replay."""
    session.execute(delete(TelephonySignature).where(TelephonySignature.at < now - keep))
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite_insert
    inserted = session.execute(
        insert(TelephonySignature).values(signature=signature[-64:], at=now)
        .on_conflict_do_nothing(index_elements=[TelephonySignature.signature])
        .returning(TelephonySignature.id)).scalar()
    return inserted is not None
