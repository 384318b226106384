"""Group commit for the SMTP listener: mails that arrive while a commit is under way wait
for the next one, and that one stores them all in one transaction (one fsync, one thread
hop). Each DATA is still answered only after the commit that holds its mail, so a 250
still means "stored durably"; under load the commits get bigger, not more numerous.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from inbox.ports import JobQueue
from inbox.raw import store_raws
from inbox.store import Store

log = logging.getLogger(__name__)
Mail = tuple[str, dict[str, Any], bytes]  # idempotency key, envelope, the raw bytes
MAX_BATCH = 64
REQUEUE_AFTER_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # then every 30 s, while the queue is away


class GroupCommit:
    def __init__(self, store: Store, jobs: JobQueue, max_batch: int = MAX_BATCH):
        self.store = store
        self.jobs = jobs
        self.max_batch = max_batch
        self.waiting: list[tuple[Mail, asyncio.Future[tuple[int, bool]]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.unqueued: set[int] = set()  # stored, but the job queue was away
        self._unqueued_lock = threading.Lock()  # the writer's and the requeuer's threads
        self._requeuer: asyncio.Task[None] | None = None

    async def store_mail(self, key: str, envelope: dict[str, Any], data: bytes
                         ) -> tuple[int, bool]:
        """(raw id, created) once committed; raises if it could not be stored."""
        done: asyncio.Future[tuple[int, bool]] = asyncio.get_running_loop().create_future()
        self.waiting.append(((key, envelope, data), done))
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_all())
        return await done

    async def _write_all(self) -> None:
        try:
            while self.waiting:
                batch = self.waiting[:self.max_batch]
                del self.waiting[:self.max_batch]
                await self._write([mail for mail, _ in batch], [done for _, done in batch])
        finally:
            self._writer = None

    async def _write(self, mails: list[Mail], dones: list[asyncio.Future[Any]]) -> None:
        try:
            results = await asyncio.to_thread(self._commit_and_queue, mails)
        except Exception as exc:
            if len(mails) > 1:  # one mail's trouble is not its neighbours': each alone
                for mail, done in zip(mails, dones, strict=True):
                    await self._write([mail], [done])
                return
            log.exception("storing inbound mail failed")
            _settle(dones[0], exc=exc)
            return
        for done, result in zip(dones, results, strict=True):
            _settle(done, result=result)
        if self.unqueued and self._requeuer is None:
            self._requeuer = asyncio.get_running_loop().create_task(self._requeue())

    def _commit_and_queue(self, mails: list[Mail]) -> list[tuple[int, bool]]:
        results = self.store.run(store_raws, "email", mails)
        self._queue([raw_id for raw_id, created in results if created])
        return results

    def _queue(self, raw_ids: list[int] | None = None) -> None:
        """Queue these mails' routing (None: the ones the queue was away for)."""
        if raw_ids is None:
            with self._unqueued_lock:
                raw_ids = sorted(self.unqueued)
        for raw_id in raw_ids:
            try:
                self.jobs.enqueue("email.process", raw_id, job_id=f"email-process-{raw_id}")
                with self._unqueued_lock:
                    self.unqueued.discard(raw_id)
            except Exception as exc:  # stored durably: queued as soon as the queue is back
                with self._unqueued_lock:
                    first = raw_id not in self.unqueued
                    self.unqueued.add(raw_id)
                if first:
                    log.warning("raw mail %s stored, but the job queue is unreachable (%s)",
                                raw_id, exc)

    async def _requeue(self) -> None:
        """A Redis blip delays routing by the blip, not until the minute timer's sweep
        (which stays the safety net, for a serve that stopped meanwhile)."""
        try:
            attempt = 0
            while self.unqueued:
                await asyncio.sleep(REQUEUE_AFTER_S[min(attempt, len(REQUEUE_AFTER_S) - 1)])
                await asyncio.to_thread(self._queue)
                attempt += 1
        finally:
            self._requeuer = None

    async def close(self) -> None:
        if self._requeuer is not None:
            self._requeuer.cancel()


def _settle(done: asyncio.Future[Any], result: Any = None,
            exc: BaseException | None = None) -> None:
    if done.done():  # its session went away meanwhile: stored all the same
        return
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(result)
