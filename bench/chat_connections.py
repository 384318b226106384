"""Many residents connected at once over two serve processes: does each serve stay
responsive, and does a chat still work across them?

    .venv/bin/python bench/chat_connections.py [--connections 10000] [--serves 2]
        [--clients 2] [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--hold 60] [--timeout 300] [--json]

The production shape without workers (bench/email_path.py `Shape`): --serves `yhteys
serve` processes on a fresh PostgreSQL database and a Redis of their own. --clients child
processes open --connections python-socketio connections (websocket transport, the
page's Origin) between them, alternating between the serves, and hold them open: a
resident who has opened the widget. Meanwhile this process asks each serve's /healthz 100
times, one after another, idle; then, with the connections open, every 0.25 s for --hold
seconds (default 60: two of engine.io's 25 s ping rounds), timing the answers (the issue's
target: under 100 ms); then, with every connection still open, 20 more residents start a
chat and send a message, each of which must be acknowledged. Beside the figures, each
serve's resident memory. Each connection is a file descriptor on both sides: `ulimit -n`
must allow them.

Loopback only, bounded (--timeout per phase), stops by itself; the database is dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import socketio
from email_path import Shape  # bench/ is on sys.path as a script

NAMESPACE = "/chat"


def hold(urls: list[str], count: int, ready: Any, release: Any, timeout: float) -> dict:
    """Open `count` connections over `urls` (alternating), report, hold until released."""
    return asyncio.run(_hold(urls, count, ready, release, timeout))


async def _hold(urls: list[str], count: int, ready: Any, release: Any,
                timeout: float) -> dict:
    clients: list[socketio.AsyncClient] = []
    failed: list[str] = []
    limit = asyncio.Semaphore(200)  # connects in flight at once

    async def one(n: int) -> None:
        url = urls[n % len(urls)]
        client = socketio.AsyncClient(reconnection=False)
        async with limit:
            try:
                await client.connect(url, namespaces=[NAMESPACE], transports=["websocket"],
                                     headers={"Origin": url}, wait_timeout=60)
                clients.append(client)
            except Exception as exc:
                failed.append(f"{type(exc).__name__}: {exc}")

    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(count))), timeout)
    connected_s = time.perf_counter() - t0
    ready.put({"connected": len(clients), "failed": len(failed), "errors": failed[:3],
               "connect_s": connected_s})
    while release.empty():
        await asyncio.sleep(0.2)
    still = sum(1 for c in clients if c.connected)
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    return {"still_connected": still}


def healthz(url: str, times: int = 100, for_s: float = 0.0) -> dict[str, float]:
    """`times` answers one after another, or (for_s) one every 0.25 s for that long."""
    took: list[float] = []
    until = time.monotonic() + for_s
    while len(took) < times if not for_s else time.monotonic() < until:
        if for_s:
            time.sleep(0.25)
        t0 = time.perf_counter()
        with urllib.request.urlopen(url + "/healthz", timeout=10) as answer:
            answer.read()
        took.append(1000 * (time.perf_counter() - t0))
    took.sort()
    return {"p50_ms": statistics.median(took), "p99_ms": took[int(0.99 * len(took)) - 1],
            "max_ms": took[-1]}


async def chats(url: str, residents: int = 20) -> int:
    """Residents who start a chat and send a message: how many got both acknowledged."""
    async def one(n: int) -> bool:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(url, namespaces=[NAMESPACE], transports=["websocket"],
                             headers={"Origin": url}, wait_timeout=30)
        try:
            start = await client.call("start", {"postal_code": "00940", "language": "fi",
                                                "text": f"Vuokravelka {n}"},
                                      namespace=NAMESPACE, timeout=30)
            message = await client.call("message", {"client_id": f"m{n}", "text": "Hei"},
                                        namespace=NAMESPACE, timeout=30)
            return isinstance(start.get("token"), str) and isinstance(message.get("id"), int)
        finally:
            await client.disconnect()
    return sum(await asyncio.gather(*(one(n) for n in range(residents))))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=10_000)
    p.add_argument("--serves", type=int, default=2)
    p.add_argument("--clients", type=int, default=2, help="client processes")
    p.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--hold", type=float, default=60,
                   help="seconds the connections stay open while /healthz is asked (engine.io "
                        "pings each every 25 s)")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="yhteys-chat-connections-"))
    shape = Shape(args.admin_url, 0, folder, args.timeout, serves=args.serves,
                  env={"YHTEYS_CHAT_CONNECTS_PER_MIN": str(2 * args.connections)})
    urls = [f"http://127.0.0.1:{port}" for port in shape.http_ports]
    context = multiprocessing.get_context("spawn")
    manager = context.Manager()  # its queues may be handed to a pool's workers
    ready, release = manager.Queue(), manager.Queue()
    share = [args.connections // args.clients + (n < args.connections % args.clients)
             for n in range(args.clients)]
    try:
        idle = {url: healthz(url) for url in urls}
        with context.Pool(args.clients) as pool:
            held = [pool.apply_async(hold, (urls, n, ready, release, args.timeout))
                    for n in share]
            opened = [ready.get(timeout=args.timeout + 60) for _ in share]
            with concurrent.futures.ThreadPoolExecutor(len(urls)) as askers:
                loaded = dict(zip(urls, askers.map(
                    lambda url: healthz(url, for_s=args.hold), urls), strict=True))
            started = asyncio.run(chats(urls[-1]))
            memory = {name: rss_mb(proc.pid) for name, proc in shape.procs.items()
                      if name.startswith("serve")}
            for _ in share:
                release.put(True)
            still = [h.get(timeout=args.timeout) for h in held]
        result = {
            "connections": args.connections, "serves": args.serves,
            "connected": sum(o["connected"] for o in opened),
            "failed": sum(o["failed"] for o in opened),
            "errors": [e for o in opened for e in o["errors"]][:3],
            "connect_s": max(o["connect_s"] for o in opened),
            "still_connected": sum(s["still_connected"] for s in still),
            "healthz_idle": idle, "healthz_loaded": loaded,
            "chats_ok": started, "rss_mb": memory, "cpus": os.cpu_count()}
    finally:
        manager.shutdown()
        shape.close()
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['connected']} of {args.connections} connections open over "
              f"{args.serves} serves in {result['connect_s']:.1f} s ({result['failed']} "
              f"failed {result['errors']}); still open at the end: "
              f"{result['still_connected']}; {result['cpus']} CPUs")
        for url in urls:
            i, busy = idle[url], loaded[url]
            print(f"  {url}/healthz p50 / p99 / max: idle {i['p50_ms']:.1f} / "
                  f"{i['p99_ms']:.1f} / {i['max_ms']:.1f} ms, with the connections open "
                  f"{busy['p50_ms']:.1f} / {busy['p99_ms']:.1f} / {busy['max_ms']:.1f} ms")
        print(f"  chats started and answered meanwhile: {started} of 20; serve memory (MB): "
              + ", ".join(f"{k} {v:.0f}" for k, v in memory.items()))
    return 0 if result["connected"] == args.connections and started == 20 else 1


if __name__ == "__main__":
    sys.exit(main())
