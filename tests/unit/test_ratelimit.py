"""The public edges' rate limits (the `limits` library): per key and per limit, and a
limit store that is away lets the edge work rather than shutting residents out."""

from __future__ import annotations

import logging

import pytest

from config.ratelimit import RateLimits
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
