"""What must happen once across serve processes runs under a lease (inbox/store.py
`hold`): one holder at a time, and a holder that dies loses it, as when killed -9."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from sqlalchemy import text

from config.serve import _tick
from config.system import build_system
from inbox.store import Store, lease_key
from tests.conftest import BACKEND, Service


def _held_in_a_thread(store: Store, name: str) -> tuple[threading.Event, threading.Event,
                                                 threading.Thread]:
    """Another holder of `name`, until `release` is set (or its connection is killed)."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        while not release.is_set():  # the service's own timer may be on its first tick
            # (killed, its unlock fails: that is the point)
            with contextlib.suppress(Exception), store.hold(name) as mine:
                if mine:
                    holding.set()
                    release.wait(30)
                    return
            release.wait(0.05)
    thread = threading.Thread(target=hold)
    thread.start()
    assert holding.wait(10)
    return holding, release, thread


async def test_the_minute_timers_run_in_one_process_at_a_time(service: Service):
    system = service.running.system
    # Another serve process: its own engine, its own connections (on SQLite the same
    # process, so the same store: the embedded default is one process).
    other = build_system(service.settings) if BACKEND == "postgres" else system
    _, release, thread = _held_in_a_thread(other.store, "timers")
    try:
        now = system.clock.now()
        ran = await asyncio.to_thread(_tick, system, service.settings.callback_rules, now)
        assert ran is False  # the other is on this tick
    finally:
        release.set()
        thread.join()
    assert await asyncio.to_thread(_tick, system, service.settings.callback_rules, now)
    if other is not system:
        other.store.engine.dispose()


async def test_a_holder_killed_mid_work_loses_its_lease(service: Service):
    """On PostgreSQL the lease is the holder's connection: when the process dies its
    backend goes, and the lock with it. (SQLite is one process: a thread that ends.)"""
    store = service.running.system.store
    other = build_system(service.settings).store if BACKEND == "postgres" else store
    _, release, thread = _held_in_a_thread(other, "imap:test")
    try:
        with store.hold("imap:test") as mine:
            assert mine is False
        if BACKEND == "postgres":  # kill -9 of its process, as PostgreSQL sees it
            key = lease_key("imap:test") & 0xFFFFFFFFFFFFFFFF  # as pg_locks shows it
            with store.engine.connect() as conn:
                killed = conn.scalar(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND objsubid = 1 "
                    "AND classid::bigint = :high AND objid::bigint = :low"),
                    {"high": key >> 32, "low": key & 0xFFFFFFFF})
                assert killed == 1
        else:
            release.set()
            thread.join()
        for _ in range(100):
            with store.hold("imap:test") as mine:
                if mine:
                    break
            await asyncio.sleep(0.05)
        assert mine, "the lease was never freed"
    finally:
        release.set()
        thread.join()
        if other is not store:
            other.engine.dispose()
