"""The `status` each waiting resident sees: queued (with position and expected wait),
assigned, offline or closed. Recomputed shortly after any chat contact changes (debounced,
as RocketChat does, so a burst of events costs one query) and once a minute for the clock
(opening and closing hours); emitted only to conversations whose status changed. What
was told is kept where every serve sees it (sharing.py), so a change is told once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from channels.chat.sharing import LocalToldStatuses, ToldStatuses
from inbox.chat import statuses
from inbox.hours import ServiceHours
from inbox.store import Store

log = logging.getLogger(__name__)
Emit = Callable[[int, dict[str, Any]], Awaitable[None]]


class StatusBoard:
    def __init__(self, store: Store, emit: Emit, clock: Callable[[], datetime],
                 hours: ServiceHours, handling_s: int, debounce_s: float = 0.2,
                 told: ToldStatuses | None = None):
        self.store = store
        self.emit = emit
        self.clock = clock
        self.hours = hours
        self.handling_s = handling_s
        self.debounce_s = debounce_s
        self.told: ToldStatuses = told or LocalToldStatuses()
        self._dirty: set[int] = set()
        self._events: dict[int, str] = {}  # conversation -> an event to tell whatever changed
        self._scheduled: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def current(self, conversation_id: int) -> dict[str, Any]:
        """This conversation's status now (for an ack); later changes come as events."""
        found = await self.store.call(statuses, {conversation_id}, self.clock(), self.hours,
                                      self.handling_s)
        status = found.get(conversation_id, {"state": "closed"})
        await self.told.swap(conversation_id, status)
        return status

    def poke(self, conversation_id: int | None = None, event: str | None = None) -> None:
        """Something changed: recompute soon (every waiting chat, and this one)."""
        if conversation_id is not None:
            self._dirty.add(conversation_id)
            if event:
                self._events[conversation_id] = event
        if self._scheduled is None:
            loop = asyncio.get_running_loop()
            self._scheduled = loop.call_later(self.debounce_s, self._start_refresh)

    def on_event(self, event: dict[str, Any]) -> None:
        """A domain event (on the loop): chat contacts' changes move the queue; a
        resident's follow-up message moves nothing (with a thousand residents writing,
        recomputing every queue for each message was a sixth of the serve's CPU)."""
        if (event.get("channel") != "chat" or not event.get("conversation_id")
                or event.get("type") == "message.created" or event.get("follow_up")):
            return
        self.poke(int(str(event["conversation_id"])),
                  "transferred" if event.get("transferred") else None)

    def _start_refresh(self) -> None:
        self._scheduled = None
        task = asyncio.get_running_loop().create_task(self.refresh())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self, conversation_id: int) -> None:
        """Tell this conversation its status now, before what comes next (a counsellor's
        first reply: "Irma has joined" must come before Irma's message)."""
        found = await self.store.call(statuses, {conversation_id}, self.clock(), self.hours,
                                      self.handling_s)
        await self._publish({k: v for k, v in found.items() if k == conversation_id}, {})

    async def refresh(self) -> None:
        dirty, self._dirty = self._dirty, set()
        events, self._events = self._events, {}
        try:
            watched = await self.told.watched()
            found = await self.store.call(statuses, dirty | watched, self.clock(),
                                          self.hours, self.handling_s)
            for vanished in watched - set(found):  # its contact is gone (retention, erasure)
                await self.told.forget(vanished)
            await self._publish(found, events)
        except Exception:
            log.exception("chat status refresh failed")

    async def _publish(self, found: dict[int, dict[str, Any]], events: dict[int, str]
                       ) -> None:
        for conversation_id, status in found.items():
            before = await self.told.swap(conversation_id, status)
            event = events.get(conversation_id)
            if (event is None and before is not None and before.get("state") != "assigned"
                    and status["state"] == "assigned"):
                event = "joined"
            if status != before or event:
                await self.emit(conversation_id, {**status, "event": event} if event
                                else status)
            if status["state"] == "closed":
                await self.told.forget(conversation_id)

    async def run_clock(self, every_s: float = 60) -> None:
        """Opening and closing times change statuses without any event."""
        while True:
            await asyncio.sleep(every_s)
            self.poke()

    async def close(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
        for task in list(self._tasks):
            task.cancel()
        await self.told.close()
