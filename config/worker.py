"""`yhteys worker`: an rq worker for the email jobs (parse-and-route, send)."""

from __future__ import annotations

from redis import Redis
from rq import SimpleWorker

from config.jobs import QUEUE, _worker_handlers
from config.settings import Settings


def run_worker(settings: Settings, burst: bool = False) -> int:
    """SimpleWorker runs jobs in this process, so the wiring is built once, not per fork."""
    if not settings.redis_url:
        raise SystemExit("yhteys worker needs YHTEYS_REDIS_URL")
    _worker_handlers()
    worker = SimpleWorker([QUEUE], connection=Redis.from_url(settings.redis_url))
    worker.work(burst=burst, with_scheduler=True)
    return 0
