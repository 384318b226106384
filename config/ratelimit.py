"""Per-key sliding-window limits for the public edges (login, callback requests, chat
connects, the secure portal), counted by the `limits` library.

With Redis (production) they are counted there, so N serve processes allow together what
one would, and a restart forgets nothing; the embedded default counts in its memory. A
limit on something that lives in one process only (a chat connection's messages) is
always counted in memory: a Redis round trip per message would buy nothing.
"""

from __future__ import annotations

import logging
import time
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
        self.memory = MovingWindowRateLimiter(MemoryStorage())
        self.shared = (MovingWindowRateLimiter(storage_from_string(redis_url))
                       if redis_url else self.memory)

    def per(self, name: str, limit: int, window_s: int = 60) -> RateLimit:
        """A limit counted across processes (in memory in the embedded default)."""
        return RateLimit(self.shared, name, RateLimitItemPerSecond(limit, window_s))

    def local(self, name: str, limit: int, window_s: int = 60) -> RateLimit:
        """A limit on what lives in this process only."""
        return RateLimit(self.memory, name, RateLimitItemPerSecond(limit, window_s))
