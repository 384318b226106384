"""Chat round trips: our /chat beside a bare python-socketio server, same machine, same run.

    .venv/bin/python bench/chat_roundtrip.py [--connections 40] [--messages 25]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--rounds 1] [--timeout 120] [--think 0] [--json]

Two servers run one after the other on one asyncio loop in this process:

* bare: a python-socketio `AsyncServer` on aiohttp whose /chat "message" handler returns
  {"id": n} at once (an echo ack) and keeps nothing;
* ours: `config.serve.start` (the whole embedded service), whose /chat namespace routes each
  message into its conversation and acks {"id": n} only after the commit.

The clients are N python-socketio `AsyncClient`s (websocket transport, Origin header of the
server's own address), all connected at once, in a separate process (so client and server
do not share one GIL). Each connection sends "start" (not timed), then, from a common start
signal, its M messages one after the other, each waiting for its ack. The rate counts
messages acknowledged with an id; the latency is emit to ack. Beside them: the CPU each side
used while the messages ran (server: this process, sampled every 10 ms; client: the child),
in cores. --rounds N repeats bare + ours and reports the median round of each. --think S
makes each resident pause 0.5-1.5 x S seconds before each message (a person typing): the
rate is then the residents' pace, and the latency is what they feel at it.

The service allows 30 starts + messages per minute per connection, so a round is at most
28 + 1 events per connection; all clients come from one address, so the bench raises the
service's connections per address (YHTEYS_CHAT_CONNECTS_PER_MIN) to the round's count.
Every round starts a fresh service (fresh limits, fresh database).

Loopback only, bounded in count and time: it stops by itself. Throwaway data: SQLite under
a temp dir, or with --database-url a fresh PostgreSQL schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from importlib.metadata import version
from typing import Any

import socketio
from aiohttp import web
from smtp_ingest import (  # bench/ is on sys.path as a script
    median_round,
    pg_drop_schema,
    pg_schema_url,
    rate,
)

NAMESPACE = "/chat"
WARMUP = 10  # messages over one extra connection per server before measuring (not counted)
MAX_CONNECTIONS = 5000  # one client process; the service is told to allow them
MAX_MESSAGES = 28  # + "start": under the service's 30 per minute per connection

TEXTS = [
    "Vuokranantaja lähetti tänään uuden maksumuistutuksen, summa on {euros} euroa.",
    "Voinko maksaa vuokrarästin osissa? Saan palkan kuun lopussa.",
    "Kelan asumistuen päätös tuli, mutta se ei kata koko vuokraa.",
    "Isännöitsijä ei vastaa puhelimeen. Mitä teen seuraavaksi?",
    "Olen asunut tässä asunnossa {years} vuotta, eikä ongelmia ole ollut ennen.",
    "Kiitos, odotan neuvojan yhteydenottoa. Olen kotona iltapäivisin.",
    "Saanko lähettää kuvan vuokrasopimuksesta tätä kautta?",
    "Naapurin meteli jatkuu yhä öisin, viimeksi eilen klo 2.",
]


# --- client side: runs in a child process -----------------------------------------------------


def run_clients(url: str, connections: int, per_connection: int, timeout: float,
                think: float = 0.0) -> dict:
    """N AsyncClients on one loop: connect and start all, then time every message's ack."""
    return asyncio.run(_clients(url, connections, per_connection, timeout, think))


async def _clients(url: str, connections: int, per_connection: int, timeout: float,
                   think: float) -> dict:
    loop = asyncio.get_running_loop()
    go, close = asyncio.Event(), asyncio.Event()
    ready = [loop.create_future() for _ in range(connections)]  # connected and started
    done = [loop.create_future() for _ in range(connections)]  # last message acked
    results: list[dict[str, Any]] = [{} for _ in range(connections)]

    async def client(c: int) -> None:
        ok, latencies, errors, start_ms, last = 0, [], [], None, None
        sio = socketio.AsyncClient(reconnection=False)
        try:
            try:
                await sio.connect(url, namespaces=[NAMESPACE], transports=["websocket"],
                                  headers={"Origin": url}, wait_timeout=30)
                t0 = time.perf_counter()
                ack = await sio.call("start", {"postal_code": "00940", "language": "fi",
                                               "text": f"Hei, minulla on vuokravelkaa ({c})."},
                                     namespace=NAMESPACE, timeout=30)
                start_ms = 1000 * (time.perf_counter() - t0)
                if not (isinstance(ack, dict) and isinstance(ack.get("token"), str)):
                    raise RuntimeError(f"start: {ack!r}")
            except Exception as exc:
                errors.append(f"connect/start: {type(exc).__name__}: {exc}")
                per = 0
            else:
                per = per_connection
            finally:
                ready[c].set_result(None)
            await go.wait()
            deadline = time.monotonic() + timeout
            pace = random.Random(c)  # a resident's pause before each message: 0.5-1.5 x think
            for i in range(per):
                if think:
                    await asyncio.sleep(think * pace.uniform(0.5, 1.5))
                if time.monotonic() > deadline:
                    errors.append("time limit reached")
                    break
                text = TEXTS[(c + i) % len(TEXTS)].format(euros=400 + 37 * i, years=2 + c % 9)
                t0 = time.perf_counter()
                try:
                    ack = await sio.call("message", {"client_id": f"b{c}-{i}", "text": text},
                                         namespace=NAMESPACE, timeout=30)
                except Exception as exc:
                    errors.append(f"message: {type(exc).__name__}: {exc}")
                    if not sio.connected:
                        break
                    continue
                if isinstance(ack, dict) and isinstance(ack.get("id"), int):
                    ok += 1
                    latencies.append(time.perf_counter() - t0)
                    last = ack
                else:
                    errors.append(f"ack: {ack!r}")
        finally:
            results[c] = {"ok": ok, "latencies": latencies, "errors": errors,
                          "start_ms": start_ms, "last": last}
            for f in (ready[c], done[c]):
                if not f.done():
                    f.set_result(None)
        await close.wait()  # disconnects are not timed
        await sio.disconnect()

    tasks = [asyncio.create_task(client(c)) for c in range(connections)]
    try:
        async with asyncio.timeout(2 * timeout + 60):  # bounded even if a phase hangs
            await asyncio.gather(*ready)
            started_wall, t0, cpu0 = time.time(), time.perf_counter(), time.process_time()
            go.set()
            await asyncio.gather(*done)
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            ended_wall = time.time()
            close.set()
            await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
    latencies = sorted(x for r in results for x in r["latencies"])
    starts = sorted(r["start_ms"] for r in results if r["start_ms"] is not None)
    errors = [e for r in results for e in r["errors"]]
    sent = connections * per_connection
    accepted = sum(r["ok"] for r in results)
    return {
        "sent": sent,
        "accepted": accepted,
        "failed": sent - accepted,
        "errors": errors[:5],
        "seconds": elapsed,
        "started_wall": started_wall,
        "ended_wall": ended_wall,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        if latencies else None,
        "started": len(starts),
        "start_p50_ms": starts[len(starts) // 2] if starts else None,
        "client_cpu_seconds": cpu,  # the whole client process, while the messages ran
        "last_ack": next((r["last"] for r in results if r["last"]), None),
    }


# --- server side -------------------------------------------------------------------------------


def free_port() -> int:
    """A free loopback port, for the service: its default allowed origin names its port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CpuSampler:
    """This (server) process's CPU time, sampled every 10 ms on a thread of its own."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bench-cpu", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.01):
            self.samples.append((time.time(), time.process_time()))

    def __enter__(self) -> CpuSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def cores(self, t0: float, t1: float) -> float | None:
        """CPU seconds per second between two wall-clock times (1.0: one core busy)."""
        inside = [(t, cpu) for t, cpu in self.samples if t0 <= t <= t1]
        if len(inside) < 2:
            return None
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


async def clients(pool: Executor, url: str, connections: int, per: int, timeout: float,
                  think: float = 0.0) -> dict:
    """Run the clients in the child; also the CPU this (server) process spent on the messages."""
    with CpuSampler() as cpu:
        result = await asyncio.wrap_future(
            pool.submit(run_clients, url, connections, per, timeout, think))
    result["server_cpu_cores"] = cpu.cores(result["started_wall"], result["ended_wall"])
    result["client_cpu_cores"] = result["client_cpu_seconds"] / result["seconds"] \
        if result["seconds"] else None
    return result


async def bench_bare(args: argparse.Namespace, pool: Executor) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=[url])
    counter = {"n": 0}

    @sio.on("start", namespace=NAMESPACE)
    async def on_start(sid: str, data: Any) -> dict[str, Any]:
        counter["n"] += 1
        return {"conversation_id": counter["n"], "token": "bare", "id": counter["n"]}

    @sio.on("message", namespace=NAMESPACE)
    async def on_message(sid: str, data: Any) -> dict[str, Any]:
        counter["n"] += 1
        return {"id": counter["n"]}

    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await clients(pool, url, 1, WARMUP, args.timeout)
        return await clients(pool, url, args.connections, args.messages, args.timeout,
                             args.think)
    finally:
        await runner.cleanup()


def _resident_messages(session: Any) -> int:
    from sqlalchemy import func, select

    from inbox.models import Message

    return int(session.scalar(select(func.count()).select_from(Message)
                              .where(Message.direction == "in")) or 0)


async def bench_ours(args: argparse.Namespace, pool: Executor, database_url: str | None,
                     var_dir: str) -> dict:
    from config.serve import settle_memory, start
    from config.settings import Settings

    port = free_port()
    env = {
        "YHTEYS_VAR_DIR": var_dir,
        "YHTEYS_HTTP_HOST": "127.0.0.1", "YHTEYS_HTTP_PORT": str(port),
        "YHTEYS_SMTP_HOST": "127.0.0.1", "YHTEYS_SMTP_PORT": str(free_port()),
        "YHTEYS_SECRET_KEY": "bench",
        "YHTEYS_COOKIE_SECURE": "0",
        "YHTEYS_CHAT_CONNECTS_PER_MIN": str(args.connections + 10),  # one address here
    }
    if database_url:
        env["YHTEYS_DATABASE_URL"] = database_url
    running = await start(Settings.from_env(env))
    settle_memory()  # as `yhteys serve` does once started
    url = f"http://127.0.0.1:{running.http_port}"
    loop = asyncio.get_running_loop()
    # Counting runs on its own thread, so it never queues behind the service's own work.
    counter = ThreadPoolExecutor(1, thread_name_prefix="bench-count")

    async def count() -> int:
        return await loop.run_in_executor(counter, running.system.store.run,
                                          _resident_messages)

    try:
        await clients(pool, url, 1, WARMUP, args.timeout)
        before = await count()
        result = await clients(pool, url, args.connections, args.messages, args.timeout,
                               args.think)
        # "start" stores the opening message too: one per connection that started.
        result["stored_rows"] = await count() - before - result["started"]
        return result
    finally:
        await running.stop()
        counter.shutdown()


# --- report ------------------------------------------------------------------------------------


def report(args: argparse.Namespace, backend: str, ours: dict, bare: dict,
           pg_settings: dict[str, str] | None) -> dict:
    ratio = rate(ours) / rate(bare) if rate(bare) else None
    out: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "python-socketio": version("python-socketio"),
                    "python-engineio": version("python-engineio"),
                    "aiohttp": version("aiohttp")},
        "connections": args.connections, "messages_per_connection": args.messages,
        "messages": bare["sent"], "backend": backend,
        "ours": {**ours, "rate": rate(ours)}, "bare": {**bare, "rate": rate(bare)},
        "ratio": ratio,
    }
    if pg_settings:
        out["postgresql"] = pg_settings
    return out


def print_table(r: dict) -> None:
    m = r["machine"]
    print(f"chat round trips, {r['connections']} connections x {r['messages_per_connection']} "
          f"messages ({r['messages']}), loopback websocket, {m['cpus']} CPUs, "
          f"Python {m['python']}, python-socketio {m['python-socketio']}")
    print(f"database: {r['backend']}"
          + (f"  {r['postgresql']}" if "postgresql" in r else ""))
    head = f"{'server':<36}{'acked':>7}{'failed':>7}{'seconds':>8}{'msg/s':>8}" \
           f"{'p50 ms':>8}{'p99 ms':>8}{'CPU srv':>8}{'CPU cli':>8}"
    print(head)
    print("-" * len(head))
    rows = [("yhteys /chat: acked after commit", r["ours"]),
            ("bare python-socketio: echo ack", r["bare"])]
    for label, x in rows:
        print(f"{label:<36}{x['accepted']:>7}{x['failed']:>7}{x['seconds']:>8.2f}"
              f"{x['rate']:>8.1f}{x['p50_ms'] or 0:>8.1f}{x['p99_ms'] or 0:>8.1f}"
              f"{x['server_cpu_cores'] or 0:>8.2f}{x['client_cpu_cores'] or 0:>8.2f}")
    ratio = f"{r['ratio']:.3f}" if r["ratio"] is not None else "n/a"
    print(f"ratio ours/bare (acked msg/s): {ratio}   (CPU: cores busy while the messages ran, "
          "server process and client process)")
    if "rounds" in r:
        print(f"medians of {len(r['rounds'])} rounds; per round (ours, bare, ratio): "
              + "; ".join(f"{x['ours']:.1f}, {x['bare']:.1f}, {x['ratio']:.3f}"
                          for x in r["rounds"]))
    ours = r["ours"]
    print(f"messages stored by ours: {ours['stored_rows']}; 'start' p50 (not in the rate): "
          f"ours {ours['start_p50_ms'] or 0:.1f} ms, bare {r['bare']['start_p50_ms'] or 0:.1f} ms;"
          f" last ack: {ours['last_ack']!r}")
    for label, x in rows:
        for e in x["errors"]:
            print(f"  {label.split(':')[0]} error: {e}")


async def main_async(args: argparse.Namespace, pool: Executor) -> dict:
    """Each round: the bare server, then ours on a fresh database; medians are reported."""
    bares, ourses, pg_settings = [], [], None
    with tempfile.TemporaryDirectory(prefix="yhteys-bench-") as tmp:
        for n in range(args.rounds):
            bares.append(await bench_bare(args, pool))
            database_url, schema = None, None
            if args.database_url:
                database_url, schema, pg_settings = pg_schema_url(args.database_url)
            try:
                ourses.append(await bench_ours(args, pool, database_url, f"{tmp}/round{n}"))
            finally:
                if schema:
                    pg_drop_schema(args.database_url, schema)
    backend = "postgresql (throwaway schema)" if args.database_url else "sqlite (embedded default)"
    result = report(args, backend, median_round(ourses), median_round(bares), pg_settings)
    if args.rounds > 1:
        result["rounds"] = [{"ours": rate(o), "bare": rate(b),
                             "ratio": rate(o) / rate(b) if rate(b) else None,
                             "ours_p50_ms": o["p50_ms"], "bare_p50_ms": b["p50_ms"]}
                            for o, b in zip(ourses, bares, strict=True)]
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=40,
                   help=f"concurrent socket.io connections (default 40, at most "
                        f"{MAX_CONNECTIONS})")
    p.add_argument("--messages", type=int, default=25,
                   help=f"messages per connection (default 25, at most {MAX_MESSAGES})")
    p.add_argument("--database-url", help="a loopback PostgreSQL URL (default: SQLite)")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat bare + ours this many times; report the median of each")
    p.add_argument("--timeout", type=float, default=120, help="seconds per phase at most")
    p.add_argument("--think", type=float, default=0.0,
                   help="seconds a resident pauses before each message (0.5-1.5 x; default "
                        "0: back to back, the rate's measure; a pace gives the latency's)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args(argv)
    if not (1 <= args.connections <= MAX_CONNECTIONS and 1 <= args.messages <= MAX_MESSAGES):
        p.error(f"need 1 <= connections <= {MAX_CONNECTIONS} and 1 <= messages <= "
                f"{MAX_MESSAGES} (the service's per-minute limits)")
    if not 1 <= args.rounds <= 10:
        p.error("--rounds takes 1 to 10")
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        result = asyncio.run(main_async(args, pool))
    if args.json:
        json.dump(result, sys.stdout, indent=2, default=str)
        print()
    else:
        print_table(result)
    failed = result["ours"]["failed"] + result["bare"]["failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
