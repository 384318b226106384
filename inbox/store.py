"""Units of work: one transaction, then the events it emitted.

Services are plain synchronous functions taking a Session; the async edges call them
through `Store.call`, which runs them in a thread so the event loop never blocks on I/O.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from inbox.crypto import Sealer
from inbox.ports import EventSink

RETRYABLE = ("40001", "40P01")  # serialization failure, deadlock
RETRIES = 3
P = ParamSpec("P")
T = TypeVar("T")


def snapshot(session: Session) -> None:
    """A read of several rows that must agree (a contact's status and its messages' delivery
    states) sees one moment: PostgreSQL's read committed would let each statement see a
    different one. Call it first in the unit. SQLite's writers are serial: nothing to do."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def emit(session: Session, event: dict[str, Any]) -> None:
    """Queue an event; it is published only if the transaction commits."""
    session.info.setdefault("events", []).append(event)


def sealer_of(session: Session) -> Sealer:
    """The unit's sealer for personal bytes at rest (set by the Store that opened it)."""
    sealer = session.info.get("sealer")
    if sealer is None:
        raise RuntimeError("this session has no sealer: open it through Store.unit")
    return sealer


def lease_key(name: str) -> int:
    """The PostgreSQL advisory lock key of a `Store.hold` name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)



def unreachable(exc: BaseException) -> bool:
    """The database is down, restarting or too busy (not a bug in the request): the caller
    may try again in a moment, and nothing of the unit of work was kept."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and bool(exc.connection_invalidated))

class Store:
    def __init__(self, engine: Engine, factory: sessionmaker[Session], events: EventSink,
                 sealer: Sealer | None = None):
        self.engine = engine
        self.factory = factory
        self.events = events
        self.sealer = sealer
        self._held: set[str] = set()  # `hold` in the embedded default's one process
        self._held_lock = threading.Lock()

    @contextmanager
    def unit(self) -> Iterator[Session]:
        with self.factory() as session:
            if self.sealer is not None:
                session.info["sealer"] = self.sealer
            with session.begin():
                yield session
            events = session.info.pop("events", [])
        for event in events:
            self.events.publish(event)

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One unit of work; run again when PostgreSQL gave it up for a concurrent one (a
        snapshot read whose row changed meanwhile, a deadlock): nothing of it was kept."""
        for attempt in range(RETRIES):
            try:
                with self.unit() as session:
                    return fn(session, *args, **kwargs)
            except OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) not in RETRYABLE or attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(self.run, fn, *args, **kwargs)

    @contextmanager
    def hold(self, name: str) -> Iterator[bool]:
        """Work that must not run twice at once across processes and lasts longer than a
        transaction should (an SMTP conversation): True if this process holds `name`.

        PostgreSQL: a session advisory lock on a connection of its own, so the lease is
        the connection's life: a process killed mid-work loses it with its socket and the
        next try may go ahead. SQLite (one process): a set of names held by its threads."""
        if self.engine.dialect.name != "postgresql":
            with self._held_lock:
                held = name not in self._held
                self._held.add(name)
            try:
                yield held
            finally:
                if held:
                    with self._held_lock:
                        self._held.discard(name)
            return
        key = lease_key(name)
        with self.engine.connect() as conn:
            held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
            conn.commit()
            try:
                yield held
            finally:
                if held:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()

    def holders(self, names: list[str]) -> dict[str, str | None]:
        """Who holds each `hold` lease now, for an operator: the holding process's
        application name (host and pid, inbox/db.py), or None when nobody does."""
        if self.engine.dialect.name != "postgresql":
            with self._held_lock:
                return {n: "this process" if n in self._held else None for n in names}
        found: dict[str, str | None] = dict.fromkeys(names)
        with self.engine.connect() as conn:
            for name in names:  # a bigint key is (classid, objid) = (high, low) 32 bits
                key = lease_key(name) & 0xFFFFFFFFFFFFFFFF
                found[name] = conn.scalar(text(
                    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                    "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                    "AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1"),
                    {"hi": key >> 32, "lo": key & 0xFFFFFFFF})
        return found
