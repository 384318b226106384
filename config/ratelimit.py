"""Per-key sliding-window limits for the public edges (login, callback requests, chat
connects, the secure portal), counted by the `limits` library.

With Redis (production) they are counted there, so N serve processes allow together what
one would, and a restart forgets nothing; the embedded default counts in its memory. A
limit on something that lives in one process only (a chat connection's messages) is
always counted in memory, by `ConnectionWindow`: a Redis round trip per message would buy
nothing, and the `limits` memory store sweeps every key a hundred times a second (with a
thousand residents connected that sweep was a sixth of the serve's CPU).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)
WARN_EVERY_S = 60.0  # a Redis that is away is said once a minute, not per request


@dataclass
class RateLimit:
    """At most `item.amount` events per `item`'s window for each key (a client address)."""

    limiter: MovingWindowRateLimiter
    name: str
    item: RateLimitItem
    _warned: float = field(default=-WARN_EVERY_S, repr=False)

    def allow(self, key: str) -> bool:
        try:
            return bool(self.limiter.hit(self.item, self.name, key))
        except Exception as exc:  # Redis away: the edge stays open (the login keeps its
            now = time.monotonic()  # own throttle in the database), and says so
            if now - self._warned >= WARN_EVERY_S:
                self._warned = now
                log.warning("rate limit %s not counted (%s: %s): allowing", self.name,
                            type(exc).__name__, exc)
            return True


class RateLimits:
    def __init__(self, redis_url: str | None):
        self.shared = MovingWindowRateLimiter(
            storage_from_string(redis_url) if redis_url else MemoryStorage())

    def per(self, name: str, limit: int, window_s: int = 60) -> RateLimit:
        """A limit counted across processes (in memory in the embedded default)."""
        return RateLimit(self.shared, name, RateLimitItemPerSecond(limit, window_s))


class ConnectionWindow:
    """At most `limit` events per `window_s` seconds for each live connection of this
    process: a sliding window of the events' times, dropped when the connection goes
    (`forget`), so nothing needs sweeping."""

    def __init__(self, limit: int, window_s: float = 60,
                 clock: Callable[[], float] = time.monotonic):
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._times: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        times = self._times.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True

    def forget(self, key: str) -> None:
        self._times.pop(key, None)
