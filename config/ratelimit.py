"""A per-key sliding-window limit for the public edges (login, callbacks, chat connects)."""

from __future__ import annotations

import time
from collections import deque


class RateLimit:
    """At most `limit` events per `window` seconds for each key (a client address)."""

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 100_000):
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.events: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        if key not in self.events and len(self.events) >= self.max_keys:
            self._forget_idle(now)  # memory stays bounded under a flood of addresses
        seen = self.events.setdefault(key, deque())
        while seen and now - seen[0] > self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True

    def _forget_idle(self, now: float) -> None:
        """Drop keys with nothing in the window; if a flood keeps them all busy, start over."""
        idle = [k for k, seen in self.events.items() if not seen or now - seen[-1] > self.window]
        for key in idle:
            del self.events[key]
        if len(self.events) >= self.max_keys:
            self.events.clear()
