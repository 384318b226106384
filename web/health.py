"""What an operator's tools ask a serve process: `/healthz` (each dependency, for the
proxy and the orchestrator) and `/metrics` (Prometheus text, from prometheus-client).

Neither needs a login and neither says anything about a person: counts, states and
timings only. The registry is this app's own, not prometheus-client's global one, so
two apps in one process (the tests) never share or double-register a metric.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.orm import Session

from inbox.ports import JobQueue
from inbox.store import Store
from inbox.tallies import tallies

Check = Callable[[], Awaitable[dict[str, Any]]]  # raises when the dependency is down
CHECK_TIMEOUT_S = 5.0  # a dependency slower than this counts as down for /healthz


def _ping(session: Session) -> None:
    session.execute(text("SELECT 1"))


class _Tallies(Collector):
    """Read at each scrape (in a thread: prometheus-client's generate_latest is blocking)."""

    def __init__(self, store: Store, jobs: JobQueue | None):
        self.store, self.jobs = store, jobs

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.store.run(tallies)
        for name, label, doc in (
                ("contacts_by_channel", "channel", "Contacts stored, by channel"),
                ("contacts_by_status", "status", "Contacts stored, by status"),
                ("replies_by_delivery", "state", "Outbound replies, by delivery state")):
            family = GaugeMetricFamily(f"yhteys_{name}", doc, labels=[label])
            for key, value in sorted(counts[name].items()):
                family.add_metric([key], value)
            yield family
        if self.jobs is not None:
            family = GaugeMetricFamily("yhteys_jobs", "Background jobs, by state (failed: "
                                       "for good)", labels=["state"])
            for key, value in self.jobs.counts().items():
                family.add_metric([key], value)
            yield family


@dataclass
class Health:
    store: Store
    jobs: JobQueue | None = None
    checks: dict[str, Check] = field(default_factory=dict)  # from the composition root
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.latency = Histogram(
            "yhteys_http_request_seconds", "HTTP request latency, by route and status class",
            ["method", "route", "status"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))
        self.registry.register(_Tallies(self.store, self.jobs))

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/healthz", self.healthz), web.get("/metrics", self.metrics)]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Latency per route template (/api/v1/contacts/{id}), never per concrete path,
        so ids neither reach the metrics nor make their label sets grow without end."""
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            info = request.match_info.route.resource
            route = info.canonical if info is not None else "unmatched"
            self.latency.labels(request.method, route, f"{status // 100}xx").observe(
                time.perf_counter() - started)

    async def _database(self) -> dict[str, Any]:
        await self.store.call(_ping)
        return {}

    async def healthz(self, request: web.Request) -> web.Response:
        """200 while every dependency answers, else 503 naming the one that does not."""
        checks: dict[str, Check] = {"database": self._database, **self.checks}
        report = dict(zip(checks, await asyncio.gather(
            *(self._timed(check) for check in checks.values())), strict=True))
        ok = all(part["ok"] for part in report.values())
        return web.json_response({"status": "ok" if ok else "failing", "checks": report},
                                 status=200 if ok else 503)

    @staticmethod
    async def _timed(check: Check) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            found = await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
        except Exception as exc:  # the answer names what failed; the operator reads why
            return {"ok": False, "error": type(exc).__name__,
                    "ms": round((time.perf_counter() - started) * 1000, 1)}
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), **found}

    async def metrics(self, request: web.Request) -> web.Response:
        body = await asyncio.to_thread(generate_latest, self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
