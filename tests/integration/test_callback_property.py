"""Property: many counsellors claiming, trying and abandoning callbacks at once, over a
minute of simulated time — no request is ever held by two, none is lost, and attempts
never exceed the limit. Runs on the suite's database (SQLite, and PostgreSQL in CI)."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.access import Principal
from inbox.callbacks import QueueRules, add_callback, claim_next, record_attempt
from inbox.errors import Problem
from inbox.hours import HELSINKI
from inbox.models import CallbackAttempt, CallbackRequest, Staff
from inbox.staff import principal_of
from tests.conftest import Service

RULES = QueueRules(claim_timeout=timedelta(seconds=8), retry_after=timedelta(seconds=5),
                   max_attempts=3)
START = datetime(2026, 12, 2, 10, 0, tzinfo=HELSINKI)
REQUESTS, COUNSELLORS, SIMULATED = 25, 6, timedelta(minutes=1)


class SimulatedClock:
    def __init__(self) -> None:
        self.now, self.lock = START, threading.Lock()

    def tick(self, seconds: float) -> datetime:
        with self.lock:
            self.now += timedelta(seconds=seconds)
            return self.now


async def test_concurrent_claims_attempts_and_expiry_keep_the_queue_sound(service: Service):
    store = service.running.system.store
    for n in range(COUNSELLORS):
        service.add_staff(f"c{n}@hel.fi", ["itainen"])

    def seed(session: Session) -> list[Principal]:
        for n in range(REQUESTS):
            add_callback(session, phone=f"+35840100{n:04d}", postal_code="00940",
                         area_code="itainen", language="fi", reason=None, topic="",
                         window=None, priority=n % 3, contact_id=None, source="form",
                         rules=RULES, now=START)
        return [principal_of(s) for s in session.scalars(
            select(Staff).where(Staff.email.like("c%@hel.fi")))]
    counsellors = store.run(seed)

    clock = SimulatedClock()
    given: dict[tuple[int, datetime], int] = {}  # (callback, claimed at) -> the one holding it
    resolved: set[tuple[int, datetime]] = set()  # claims an attempt was recorded on
    book = threading.Lock()
    violations: list[str] = []

    def work(who: Principal, seed_value: int) -> None:
        rng = random.Random(seed_value)
        held: tuple[int, datetime] | None = None
        while (now := clock.tick(rng.uniform(0.05, 0.3))) < START + SIMULATED:
            try:
                if held is None:
                    taken = store.run(claim_next, who, now, RULES)
                    if taken is None:
                        continue
                    assert taken.claimed_at is not None and taken.claimed_by == who.staff_id
                    claim = (taken.id, taken.claimed_at)
                    with book:  # one claim (a request since a moment) to one person only
                        if given.setdefault(claim, who.staff_id) != who.staff_id:
                            violations.append(f"claim {claim} given to {given[claim]} "
                                              f"and {who.staff_id}")
                    held = claim
                elif rng.random() < 0.15:
                    held = None  # walks away: the claim must expire by itself
                else:
                    result = rng.choice(("no_answer", "no_answer", "reached", "wrong_number"))
                    store.run(record_attempt, who, held[0], result, "", now, RULES)
                    with book:  # at most one attempt per claim
                        if held in resolved:
                            violations.append(f"two attempts on claim {held}")
                        resolved.add(held)
                    held = None
            except Problem as refused:
                assert refused.status == 409, refused
                held = None  # it expired and someone else took it: a clear refusal

    threads = [threading.Thread(target=work, args=(who, n))
               for n, who in enumerate(counsellors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def final(session: Session) -> tuple[list[CallbackRequest], dict[int, int]]:
        rows = list(session.scalars(select(CallbackRequest)))
        tried = {cb: n for cb, n in session.execute(
            select(CallbackAttempt.callback_id, func.count())
            .group_by(CallbackAttempt.callback_id))}
        return rows, tried
    rows, tried = store.run(final)
    assert violations == []
    assert len(rows) == REQUESTS  # none lost
    assert sum(tried.values()) > REQUESTS  # the simulation really worked the queue
    for row in rows:
        assert row.attempts <= row.max_attempts, row.id
        assert tried.get(row.id, 0) == row.attempts, row.id
        assert row.state in ("queued", "claimed", "done", "failed"), row.state
        if row.state == "claimed":
            assert row.claimed_by is not None
        if row.state in ("done", "failed"):
            assert row.claimed_by is None and row.closed_at is not None
