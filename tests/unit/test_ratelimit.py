"""The public edges' rate limits (the `limits` library): per key and per limit, and a
limit store that is away lets the edge work rather than shutting residents out."""

from __future__ import annotations

import logging

import pytest

from config.ratelimit import ConnectionWindow, RateLimits
from tests.conftest import free_port


def test_each_key_and_each_limit_counts_on_its_own():
    limits = RateLimits(None)
    login = limits.per("login", 2)
    assert [login.allow("a"), login.allow("a"), login.allow("a")] == [True, True, False]
    assert login.allow("b")
    assert limits.per("callback.request", 1).allow("a")  # another limit, another count


def test_a_shared_limit_is_one_count_wherever_it_is_asked():
    """Two serve processes' limits of one name count together (here: one store)."""
    limits = RateLimits(None)
    first, second = limits.per("login", 2), limits.per("login", 2)
    assert first.allow("a") and second.allow("a")
    assert not first.allow("a") and not second.allow("a")


def test_redis_away_allows_and_says_so_once(caplog: pytest.LogCaptureFixture):
    limit = RateLimits(f"redis://127.0.0.1:{free_port()}/0").per("login", 1)
    with caplog.at_level(logging.WARNING, logger="config.ratelimit"):
        assert all(limit.allow("a") for _ in range(5))
    warned = [r for r in caplog.records if "not counted" in r.getMessage()]
    assert len(warned) == 1


def test_a_connections_window_slides_and_is_forgotten_with_the_connection():
    now = [0.0]
    window = ConnectionWindow(2, window_s=60, clock=lambda: now[0])
    assert window.allow("sid")
    now[0] = 30.0
    assert window.allow("sid") and not window.allow("sid")
    assert window.allow("other")  # each connection its own
    now[0] = 59.9
    assert not window.allow("sid")  # the first is still inside the minute
    now[0] = 60.0
    assert window.allow("sid") and not window.allow("sid")  # one slid out: one more
    window.forget("sid")
    assert window.allow("sid")  # a new connection with the same id starts afresh
