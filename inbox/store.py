"""Units of work: one transaction, then the events it emitted.

Services are plain synchronous functions taking a Session; the async edges call them
through `Store.call`, which runs them in a thread so the event loop never blocks on I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from inbox.ports import EventSink

P = ParamSpec("P")
T = TypeVar("T")


def emit(session: Session, event: dict[str, Any]) -> None:
    """Queue an event; it is published only if the transaction commits."""
    session.info.setdefault("events", []).append(event)


class Store:
    def __init__(self, engine: Engine, factory: sessionmaker[Session], events: EventSink):
        self.engine = engine
        self.factory = factory
        self.events = events

    @contextmanager
    def unit(self) -> Iterator[Session]:
        with self.factory() as session:
            with session.begin():
                yield session
            events = session.info.pop("events", [])
        for event in events:
            self.events.publish(event)

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.unit() as session:
            return fn(session, *args, **kwargs)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(self.run, fn, *args, **kwargs)
