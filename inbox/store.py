"""Units of work: one transaction, then its events and after-commit actions.

Services are plain synchronous functions taking a Session; the async edges call them
through `Store.call`, which runs them in a thread so the event loop never blocks on I/O.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from inbox.ports import EventSink

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


def emit(session: Session, event: dict[str, Any]) -> None:
    """Queue an event; it is published only if the transaction commits."""
    session.info.setdefault("events", []).append(event)


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` after a successful commit (e.g. hand a reply to its channel)."""
    session.info.setdefault("after_commit", []).append(action)


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
            actions = session.info.pop("after_commit", [])
        for event in events:
            self.events.publish(event)
        for action in actions:
            try:
                action()
            except Exception:  # the commit stands; the action records its own failure
                log.exception("after-commit action failed")

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.unit() as session:
            return fn(session, *args, **kwargs)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(self.run, fn, *args, **kwargs)
