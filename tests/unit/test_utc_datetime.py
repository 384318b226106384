"""Timestamps are stored as UTC on both engines: a Helsinki time (a callback window) comes
back as the same instant from SQLite, which keeps no offset, and compares right in SQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select

from inbox.hours import HELSINKI
from inbox.models import Timestamp


def test_a_helsinki_time_comes_back_as_the_same_instant() -> None:
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", Timestamp))
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    nine = datetime(2026, 12, 2, 9, 0, tzinfo=HELSINKI)  # 07:00 UTC
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"at": nine}])
        [back] = conn.execute(select(table.c.at)).scalars()
        assert back == nine and back.tzinfo is not None
        later = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 10:00 in Helsinki
        assert conn.execute(select(table.c.id).where(table.c.at <= later)).scalars().all() == [1]
    engine.dispose()
