"""The logs' retention: rows older than the period go, whole seals at a time, and the chain
still checks from where it was cut; nothing younger can be removed, not even by the
application asking the database directly; a period once set can be lengthened, never
shortened."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from inbox.audit import prune, seal, verify
from inbox.models import AccessLog, LogRetentionFloor, RetentionRun
from inbox.retention import RetentionRules, run
from tests.conftest import Service
from tests.integration.test_use_log import read_twice, seal_all

NOW = datetime.now(UTC)


def old_rows(session: Session, years: int, count: int = 3) -> None:
    """Rows as a read `years` ago wrote them, and their seal of that day."""
    at = NOW.replace(year=NOW.year - years)
    for n in range(count):
        session.add(AccessLog(view="api.contact", action="read", at=at + timedelta(seconds=n)))
    session.flush()
    seal(session, at + timedelta(minutes=5))


async def after_todays_run(service: Service) -> None:
    """The serve's timer runs the day's retention as it starts: wait for it, so that the
    old rows a test makes are pruned by the test alone."""
    store = service.running.system.store
    for _ in range(200):
        if store.run(lambda s: s.scalar(select(func.count()).select_from(RetentionRun))):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the timer never ran the day's retention")


def rows(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AccessLog)) or 0


async def test_old_rows_go_whole_seals_at_a_time_and_the_chain_still_checks(service: Service):
    store = service.running.system.store
    await after_todays_run(service)
    store.run(old_rows, 13)
    await read_twice(service)
    assert seal_all(store) > 0
    before = store.run(rows)
    removed = store.run(prune, datetime.now(UTC), 12)
    assert removed["use"] == 3 and store.run(rows) == before - 3
    verdict = store.run(verify)
    assert verdict.intact and verdict.unsealed == 0 and verdict.rows == before - 3
    assert store.run(prune, datetime.now(UTC), 12) == {"use": 0, "disclosure": 0}


async def test_the_database_refuses_to_remove_a_row_younger_than_the_period(service: Service):
    store = service.running.system.store
    await after_todays_run(service)
    await read_twice(service)
    store.run(old_rows, 3)
    with pytest.raises(DBAPIError, match="append-only"):  # this year's rows
        store.run(lambda s: s.execute(text(
            "DELETE FROM access_log WHERE id = (SELECT max(id) FROM access_log)")))
    store.run(old_rows, 13)
    # Thirteen years old is past the twelve the day's run recorded: the database lets it go,
    # and refuses the three-year-old one.
    thirteen = NOW.replace(year=NOW.year - 13) + timedelta(seconds=1)
    store.run(lambda s: s.execute(delete(AccessLog).where(AccessLog.at == thirteen)))
    three = NOW.replace(year=NOW.year - 3) + timedelta(seconds=1)
    with pytest.raises(DBAPIError, match="append-only"):
        store.run(lambda s: s.execute(delete(AccessLog).where(AccessLog.at == three)))


async def test_a_period_once_set_is_never_shortened(service: Service):
    store = service.running.system.store
    await after_todays_run(service)  # it recorded the configured 12 years

    def floor(session: Session) -> int | None:
        return session.scalar(select(func.max(LogRetentionFloor.years)))
    assert store.run(floor) == 12
    store.run(old_rows, 13)
    store.run(old_rows, 4)
    assert store.run(prune, datetime.now(UTC), 3)["use"] == 3  # only what is past 12
    assert store.run(floor) == 12  # 3 < 12: not recorded
    assert store.run(prune, datetime.now(UTC), 20)["use"] == 0 and store.run(floor) == 20
    with pytest.raises(DBAPIError, match="append-only"):
        store.run(lambda s: s.execute(text("DELETE FROM log_retention_floor")))
    assert store.run(verify).intact


async def test_the_daily_run_prunes_the_logs_and_says_how_many(service: Service):
    store = service.running.system.store
    await after_todays_run(service)
    store.run(old_rows, 13, 4)
    done = store.run(run, datetime.now(UTC), RetentionRules(log_years=12), "cli")
    assert done is not None and done["logs_pruned"] == 4
