"""Work that worker threads hand to the event loop (socket.io emits of events and chat
replies), kept track of so that a stopping serve finishes it before it closes the sockets
and the database it needs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class LoopHandoff:
    """`submit` may be called from any thread; `drain` runs on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self._pending: set[concurrent.futures.Future[Any]] = set()

    def submit(self, work: Coroutine[Any, Any, Any]) -> None:
        future = asyncio.run_coroutine_threadsafe(work, self.loop)
        self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: concurrent.futures.Future[Any]) -> None:
        self._pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("work handed to the loop failed", exc_info=future.exception())

    async def drain(self, grace_s: float) -> None:
        """What was handed over before the stop is finished (or, after `grace_s`, dropped:
        a broadcast is a hint, the inbox reloads; a reply left pending is handed on again
        by the next start)."""
        pending = [asyncio.wrap_future(f, loop=self.loop) for f in list(self._pending)]
        if pending:
            await asyncio.wait(pending, timeout=grace_s)
