"""Job queues: rq on Redis in production, an in-process runner in the embedded default.

Both run the same handlers with the same retry delays; a handler raises to be retried.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry

if TYPE_CHECKING:
    from config.system import System

log = logging.getLogger(__name__)
QUEUE = "yhteys"
WAITING_OR_RUNNING = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED,
                                JobStatus.SCHEDULED})
Handler = Callable[..., None]


class InProcessJobs:
    """Runs jobs as tasks on the serve loop (handlers in threads), retrying with delays.

    Jobs live only in memory, so the serve process re-queues unfinished work on start
    (stored-but-unprocessed mail, pending replies): nothing durable depends on this queue.
    """

    def __init__(self, handlers: dict[str, Handler], delays: tuple[float, ...]):
        self.handlers = handlers
        self.delays = delays
        # Jobs get their own threads, so a backlog of them never delays the edges
        # (an SMTP DATA waiting to be stored) in the loop's default pool.
        self.executor = ThreadPoolExecutor(2, thread_name_prefix="yhteys-job")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.running: set[str] = set()
        self.busy = 0  # jobs in a thread right now
        self.failed = 0  # failed for good since start

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        if job not in self.handlers:
            raise KeyError(f"unknown job {job}")
        if self.loop is None:
            raise RuntimeError("in-process jobs are not started")
        self.loop.call_soon_threadsafe(self._spawn, job, args, job_id)

    def ensure(self, job: str, *args: Any, job_id: str, trust_running: bool = True) -> bool:
        # A job of a running id is not spawned: in this process, running means running.
        self.enqueue(job, *args, job_id=job_id)
        return True

    def _spawn(self, job: str, args: tuple[Any, ...], job_id: str | None) -> None:
        if job_id is not None and job_id in self.running:
            return
        task = asyncio.get_running_loop().create_task(self._run(job, args, job_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, job: str, args: tuple[Any, ...], job_id: str | None) -> None:
        if job_id is not None:
            self.running.add(job_id)
        try:
            for attempt in range(len(self.delays) + 1):
                self.busy += 1
                try:
                    await asyncio.get_running_loop().run_in_executor(
                        self.executor, functools.partial(self.handlers[job], *args))
                    return
                except Exception as exc:
                    if attempt >= len(self.delays):
                        log.error("job %s%s failed for good: %s", job, args, exc)
                        self.failed += 1
                        return
                    log.warning("job %s%s failed (%s); retrying", job, args, exc)
                finally:
                    self.busy -= 1
                await asyncio.sleep(self.delays[attempt])
        finally:
            if job_id is not None:
                self.running.discard(job_id)

    def counts(self) -> dict[str, int]:
        return {"queued": len(self.tasks) - self.busy, "running": self.busy,
                "failed": self.failed}

    async def drain(self, grace: float = 10) -> None:
        """On shutdown: give jobs `grace` seconds, cancel the rest, and wait for the ones
        already running in a thread, so nothing touches the database after we return.
        What was cancelled is found again on the next start (stored mail, pending replies).
        """
        if self.tasks:
            _, pending = await asyncio.wait(set(self.tasks), timeout=grace)
            for task in pending:
                task.cancel()
        await asyncio.to_thread(self.executor.shutdown, wait=True, cancel_futures=True)


class RqJobs:
    """Enqueues to rq; `yhteys worker` runs them through `run_job` below."""

    def __init__(self, redis: Redis, delays: tuple[float, ...]):
        self.queue = Queue(QUEUE, connection=redis)
        self.delays = delays

    def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        self.queue.enqueue(
            run_job, job, *args, job_id=job_id,
            retry=Retry(max=len(self.delays), interval=[int(d) for d in self.delays]),
        )

    def ensure(self, job: str, *args: Any, job_id: str, trust_running: bool = True) -> bool:
        try:
            status = Job.fetch(job_id, connection=self.queue.connection).get_status()
        except NoSuchJobError:
            status = None
        if status == JobStatus.STARTED and not trust_running:
            # rq notices a killed worker's job only minutes later; a fresh id runs it now
            self.enqueue(job, *args, job_id=f"{job_id}-again-{time.time_ns()}")
            return True
        if status not in WAITING_OR_RUNNING:
            self.enqueue(job, *args, job_id=job_id)
            return True
        return False

    def counts(self) -> dict[str, int]:
        """rq's own registries (shared by every worker): one Redis round trip each."""
        queue = self.queue
        return {"queued": queue.count,
                "running": StartedJobRegistry(queue=queue).count,
                "failed": FailedJobRegistry(queue=queue).count}


@functools.cache
def worker_system() -> System:
    """This worker process's wiring, built once from the environment."""
    from config.settings import Settings
    from config.system import build_worker_system

    return build_worker_system(Settings.from_env())


def _worker_handlers() -> dict[str, Handler]:
    return worker_system().job_handlers


def run_job(job: str, *args: Any) -> None:
    """rq entry point: look the handler up by name (jobs store names, not pickled code)."""
    _worker_handlers()[job](*args)
