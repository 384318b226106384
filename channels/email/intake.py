"""The SMTP listener's durable write: mails stored by group commit (inbox/group_commit.py),
so each DATA is answered only after the commit that holds its mail, and each new mail's
routing queued (or, while the job queue is away, requeued as soon as it is back).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from inbox.group_commit import MAX_BATCH, GroupCommit
from inbox.ports import JobQueue
from inbox.raw import process_job_id, store_raws
from inbox.store import Store

log = logging.getLogger(__name__)
Mail = tuple[str, dict[str, Any], bytes]  # idempotency key, envelope, the raw bytes
REQUEUE_AFTER_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # then every 30 s, while the queue is away


class MailIntake(GroupCommit[Mail, tuple[int, bool]]):
    what = "inbound mail"

    def __init__(self, store: Store, jobs: JobQueue, max_batch: int = MAX_BATCH):
        super().__init__(max_batch)
        self.store = store
        self.jobs = jobs
        self.unqueued: set[int] = set()  # stored, but the job queue was away
        self._unqueued_lock = threading.Lock()  # the writer's and the requeuer's threads
        self._requeuer: asyncio.Task[None] | None = None

    async def store_mail(self, key: str, envelope: dict[str, Any], data: bytes
                         ) -> tuple[int, bool]:
        """(raw id, created) once committed; raises if it could not be stored."""
        result = await self.submit((key, envelope, data))
        if self.unqueued and self._requeuer is None:
            self._requeuer = asyncio.get_running_loop().create_task(self._requeue())
        return result

    def commit(self, mails: list[Mail]) -> list[tuple[int, bool]]:
        """Store the batch, then queue each new mail's routing."""
        results = self.store.run(store_raws, "email", mails)
        self._queue([raw_id for raw_id, created in results if created])
        return results

    def _queue(self, raw_ids: list[int] | None = None) -> None:
        """Queue these mails' routing as one job (None: the ones the queue was away for)."""
        if raw_ids is None:
            with self._unqueued_lock:
                raw_ids = sorted(self.unqueued)
        for start in range(0, len(raw_ids), self.max_batch):
            batch = raw_ids[start:start + self.max_batch]
            try:
                self.jobs.enqueue("email.process", *batch, job_id=process_job_id(batch))
                with self._unqueued_lock:
                    self.unqueued.difference_update(batch)
            except Exception as exc:  # stored durably: queued as soon as the queue is back
                with self._unqueued_lock:
                    first = not self.unqueued
                    self.unqueued.update(raw_ids[start:])
                if first:
                    log.warning("raw mails from %s on stored, but the job queue is "
                                "unreachable (%s)", batch[0], exc)
                return

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

