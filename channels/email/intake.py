"""Group commit for the SMTP listener: mails that arrive while a commit is under way wait
for the next one, and that one stores them all in one transaction (one fsync, one thread
hop). Each DATA is still answered only after the commit that holds its mail, so a 250
still means "stored durably"; under load the commits get bigger, not more numerous.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from inbox.ports import JobQueue
from inbox.raw import store_raws
from inbox.store import Store

log = logging.getLogger(__name__)
Mail = tuple[str, dict[str, Any], bytes]  # idempotency key, envelope, the raw bytes
MAX_BATCH = 64


class GroupCommit:
    def __init__(self, store: Store, jobs: JobQueue, max_batch: int = MAX_BATCH):
        self.store = store
        self.jobs = jobs
        self.max_batch = max_batch
        self.waiting: list[tuple[Mail, asyncio.Future[tuple[int, bool]]]] = []
        self._writer: asyncio.Task[None] | None = None

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

    def _commit_and_queue(self, mails: list[Mail]) -> list[tuple[int, bool]]:
        results = self.store.run(store_raws, "email", mails)
        for raw_id, created in results:
            if created:
                try:
                    self.jobs.enqueue("email.process", raw_id,
                                      job_id=f"email-process-{raw_id}")
                except Exception:  # stored durably: the timer queues it once it is back
                    log.warning("raw mail %s stored, but the job queue is unreachable",
                                raw_id, exc_info=True)
        return results


def _settle(done: asyncio.Future[Any], result: Any = None,
            exc: BaseException | None = None) -> None:
    if done.done():  # its session went away meanwhile: stored all the same
        return
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(result)
