"""`yhteys worker`: an rq worker for the email jobs (parse-and-route, send)."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import SimpleWorker

from config.jobs import QUEUE, worker_system
from config.settings import Settings
from config.system import System
from inbox.outbound import unsent_replies
from inbox.raw import process_job_id, waiting_raw

log = logging.getLogger(__name__)


class YhteysWorker(SimpleWorker):
    """rq's SimpleWorker, whose stop cannot hang on its command channel's thread."""

    def unsubscribe(self) -> None:
        """rq unsubscribes, then stops the channel's reader thread and waits for it without
        end. When that thread reads the unsubscribe's reply before the stop, it goes back
        to a 60-s read, and a worker told to stop (SIGTERM) stayed up to a minute (seen
        once in CI, where an orchestrator's 10 s grace ends in SIGKILL). Here the thread is
        told to stop first, so the reply is what ends its read, and it is waited for 2 s
        at most (it is a daemon: it cannot hold the process)."""
        thread = self.pubsub_thread
        if thread is None:
            return
        thread.stop(timeout=0)
        self.pubsub.unsubscribe()
        thread.join(timeout=2)
        self.pubsub.close()


def run_worker(settings: Settings, burst: bool = False) -> int:
    """SimpleWorker runs jobs in this process, so the wiring is built once, not per fork.

    rq quits its work loop when Redis goes away at the wrong moment (a heartbeat between
    two jobs): then this worker waits for Redis and works on, first queueing again what a
    Redis that restarted empty has forgotten. Only a stop request (SIGTERM) ends it."""
    if not settings.redis_url:
        raise SystemExit("yhteys worker needs YHTEYS_REDIS_URL")
    redis = Redis.from_url(settings.redis_url)
    while True:
        _recover_unfinished()
        # rq forks its scheduler next: a database connection open now would live on in
        # that child, and with it the lease of a send, after this worker is killed.
        worker_system().store.engine.dispose()
        worker = YhteysWorker([QUEUE], connection=redis)
        try:
            worker.work(burst=burst, with_scheduler=True)
        except RedisConnectionError as exc:
            log.warning("Redis went away under the worker (%s)", exc)
        if burst or worker._shutdown_requested_date is not None:  # SIGTERM or SIGINT
            return 0
        _until_reachable(redis)


def _recover_unfinished() -> None:
    try:  # a worker killed with kill -9 may have left a mail half routed, a reply half sent
        system = worker_system()
        rerouted = requeue_stored_mail(system, trust_running=False)
        resumed = resend_abandoned(system)
        if rerouted or resumed:
            log.info("queued again %s stored mails and %s unsent replies nobody was on",
                     rerouted, resumed)
    except Exception:  # a new database a serve has not yet prepared, or one restarting
        log.warning("unfinished work was not looked for at start", exc_info=True)


def _until_reachable(redis: Redis, most_s: float = 5.0) -> None:
    """Until Redis answers again (after 0.1 s, then twice as long each time, at most 5 s)."""
    pause = 0.1
    while True:
        try:
            redis.ping()
            log.info("Redis is back: the worker works on")
            return
        except RedisConnectionError:
            time.sleep(pause)
            pause = min(2 * pause, most_s)


def requeue_stored_mail(system: System, stored_before: datetime | None = None,
                        trust_running: bool = True) -> int:
    """Stored mail that nobody is routing right now (its row is not held by a routing
    transaction) goes to the queue again, unless its job is waiting (or, trusted, said to
    be running). A job run twice is harmless: the second finds the mail routed."""
    return sum(system.jobs.ensure("email.process", raw_id, job_id=process_job_id([raw_id]),
                                  trust_running=trust_running)
               for raw_id in system.store.run(waiting_raw, stored_before))


def resend_abandoned(system: System) -> int:
    """A worker killed mid-send (kill -9, a lost machine) leaves its reply unsent, and rq
    notices its job only minutes later. The send's lease died with that worker, so an
    unsent mail reply whose lease is free has nobody sending it: it is queued again at once.
    Safe to repeat: a send takes the lease and sends only what is still unsent, under the
    reply's one Message-ID (so a copy the relay took before the kill is the same mail)."""
    resumed = 0
    for message_id, channel in system.store.run(unsent_replies):
        if channel != "email":
            continue  # chat replies are the serves' to deliver
        with system.store.hold(f"email.send:{message_id}") as nobody_sending:
            if nobody_sending:
                system.jobs.enqueue("email.send", message_id,
                                    job_id=f"email-send-{message_id}-resumed-{time.time_ns()}")
                resumed += 1
    return resumed
