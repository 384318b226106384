"""Group commit: what arrives while a commit is under way waits for the next one, and that
one writes it all in one transaction (one fsync, one thread hop). Each caller is still
answered only after the commit that holds its item, so an acknowledgement still means
"stored durably"; under load the commits get bigger, not more numerous.

Used by the SMTP listener (raw mails) and the chat (residents' messages).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError

log = logging.getLogger(__name__)
Item = TypeVar("Item")
Result = TypeVar("Result")
MAX_BATCH = 64


class GroupCommit(Generic[Item, Result]):
    """A subclass's `commit(items)` (run in a thread) writes a batch in one transaction and
    returns one result per item, in order. A batch that fails is tried again item by item,
    so one item's trouble is not its neighbours'; an item that fails alone gets the
    exception."""

    what = "an item"  # for the log

    def __init__(self, max_batch: int = MAX_BATCH):
        self.max_batch = max_batch
        self.waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """The item's result once committed; raises if it could not be written."""
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self.waiting.append((item, done))
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_all())
        return await done

    async def _write_all(self) -> None:
        try:
            while self.waiting:
                batch = self.waiting[:self.max_batch]
                del self.waiting[:self.max_batch]
                await self._write([item for item, _ in batch], [done for _, done in batch])
        finally:
            self._writer = None

    async def _write(self, items: list[Item], dones: list[asyncio.Future[Result]]) -> None:
        try:
            results = await asyncio.to_thread(self.commit, items)
        except Exception as exc:
            if len(items) > 1:
                for item, done in zip(items, dones, strict=True):
                    await self._write([item], [done])
                return
            if not isinstance(exc, IntegrityError):  # that one, its caller answers (a
                log.exception("storing %s failed", self.what)  # concurrent double send)
            _settle(dones[0], exc=exc)
            return
        for done, result in zip(dones, results, strict=True):
            _settle(done, result=result)

    def commit(self, items: list[Item]) -> list[Result]:
        raise NotImplementedError


def _settle(done: asyncio.Future[Any], result: Any = None,
            exc: BaseException | None = None) -> None:
    if done.done():  # its caller went away meanwhile: stored all the same
        return
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(result)
