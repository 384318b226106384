"""The public edges' rate limit: per key, sliding window, bounded memory."""

from __future__ import annotations

from config.ratelimit import RateLimit


def test_each_key_gets_its_own_window():
    limit = RateLimit(2, window=60)
    assert [limit.allow("a"), limit.allow("a"), limit.allow("a")] == [True, True, False]
    assert limit.allow("b")


def test_the_window_slides(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("config.ratelimit.time.monotonic", lambda: now[0])
    limit = RateLimit(1, window=10)
    assert limit.allow("a") and not limit.allow("a")
    now[0] += 11
    assert limit.allow("a")


def test_idle_keys_are_forgotten_but_busy_ones_keep_their_count(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("config.ratelimit.time.monotonic", lambda: now[0])
    limit = RateLimit(1, window=10, max_keys=4)
    assert limit.allow("old")
    now[0] += 20
    for key in ("a", "b", "c"):
        assert limit.allow(key)
    assert limit.allow("d")  # over max_keys: "old" is idle and goes
    assert "old" not in limit.events
    assert not limit.allow("a")  # a busy key keeps its count
