"""Ports the inbox defines and the composition root fills: events, delivery, jobs."""

from __future__ import annotations

from typing import Any, Protocol


class EventSink(Protocol):
    """Receives domain events after commit (thread-safe: services run in worker threads)."""

    def publish(self, event: dict[str, Any]) -> None: ...


class Deliverer(Protocol):
    """A channel's outbound side: sends one stored outbound message."""

    def deliver(self, message_id: int) -> None: ...


class JobQueue(Protocol):
    """Background jobs (rq in production, in-process in the embedded default)."""

    def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None: ...

    def ensure(self, job: str, *args: Any, job_id: str, trust_running: bool = True) -> bool:
        """Enqueue unless a job of this id is waiting or running already (True if it did):
        what the timer re-queues does not pile up behind a backlog. With `trust_running=False` a job
        said to be running is run again (its worker may have been killed: the caller
        knows the work is not under way)."""
        ...

    def counts(self) -> dict[str, int]:
        """Jobs waiting, running and failed for good (for /metrics); raises if the queue's
        store cannot be reached (for /healthz)."""
        ...


class Deliverers:
    """Outbound deliverers by channel name; a channel without one keeps its replies pending."""

    def __init__(self) -> None:
        self._by_channel: dict[str, Deliverer] = {}

    def register(self, channel: str, deliverer: Deliverer) -> None:
        self._by_channel[channel] = deliverer

    def get(self, channel: str) -> Deliverer | None:
        return self._by_channel.get(channel)

    def channels(self) -> frozenset[str]:
        return frozenset(self._by_channel)
