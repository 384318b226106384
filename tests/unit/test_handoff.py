"""Work a worker thread hands to the serve's loop is finished before a stop closes what it
needs (an inbox broadcast in flight at stop once made the next start fail), and a stop
waits no longer than its grace for work that hangs."""

from __future__ import annotations

import asyncio
import threading

from config.handoff import LoopHandoff


async def test_drain_finishes_what_a_thread_handed_over():
    handoff = LoopHandoff(asyncio.get_running_loop())
    finished: list[int] = []

    async def broadcast(n: int) -> None:
        await asyncio.sleep(0.05)
        finished.append(n)

    thread = threading.Thread(target=lambda: [handoff.submit(broadcast(n)) for n in range(3)])
    thread.start()
    await asyncio.to_thread(thread.join)
    await handoff.drain(5)
    assert sorted(finished) == [0, 1, 2]


async def test_drain_gives_up_on_hanging_work_after_its_grace():
    loop = asyncio.get_running_loop()
    handoff = LoopHandoff(loop)
    never = asyncio.Event()
    handoff.submit(never.wait())
    started = loop.time()
    await handoff.drain(0.2)
    assert 0.2 <= loop.time() - started < 2
    never.set()  # and the work, let go, still finishes
    await handoff.drain(1)
    assert not handoff._pending
