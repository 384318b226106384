"""`yhteys worker`: an rq worker for the email jobs (parse-and-route, send)."""

from __future__ import annotations

import logging
import time

from redis import Redis
from rq import SimpleWorker

from config.jobs import QUEUE, worker_system
from config.settings import Settings
from config.system import System
from inbox.outbound import unsent_replies

log = logging.getLogger(__name__)


def run_worker(settings: Settings, burst: bool = False) -> int:
    """SimpleWorker runs jobs in this process, so the wiring is built once, not per fork."""
    if not settings.redis_url:
        raise SystemExit("yhteys worker needs YHTEYS_REDIS_URL")
    try:
        resumed = resend_abandoned(worker_system())
        if resumed:
            log.info("handed again %s replies whose sender had died mid-send", resumed)
    except Exception:  # a new database a serve has not yet prepared, or one restarting
        log.warning("unsent replies were not looked for at start", exc_info=True)
    worker = SimpleWorker([QUEUE], connection=Redis.from_url(settings.redis_url))
    worker.work(burst=burst, with_scheduler=True)
    return 0


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
