"""Claim next callback: N counsellors at once, beside the bare SQL claim, same run.

    .venv/bin/python bench/claim_next.py [--callbacks 3000] [--counsellors 50] [--seconds 20]
        [--think 0] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--timeout 30] [--json]

The service runs in this process (`config.serve.start`, embedded: no Redis) on SQLite in a
temp dir, or on a fresh schema of that loopback PostgreSQL database, dropped at the end.
`add_callback` seeds --callbacks requests (area lantinen, claimable now, three priorities);
--counsellors counsellors of that area get a bearer token each.

* ours: one aiohttp task per counsellor on one ClientSession, in a child process (clients
  and service share no GIL); each loops `POST /api/v1/callbacks/claim` (timed, send to last
  byte), then `POST /api/v1/callbacks/{id}/attempts` `reached`, which makes it done (timed
  apart), until a 204 or --seconds. An id given to two counsellors is a double; then the
  database must show each claimed id done once, by the counsellor who was given it.
* bare: the service stopped and the rows reset to queued, one thread per counsellor on plain
  SQLAlchemy Core: one transaction of the SELECT of the next id (PostgreSQL: `FOR UPDATE
  SKIP LOCKED`) and the conditional UPDATE to claimed, timed; an UPDATE to done, not timed.
  SQLite: the project's engine (one pooled connection, BEGIN IMMEDIATE; writers are serial).

The anchor is issue 10's target, claim-next p95 under 20 ms with 0 doubles: printed are p50,
p95, p99, claims/s, doubles, target / p95 and ours / bare. Bounded (--timeout per phase), it
stops by itself; exit status 1 on any double or mismatch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import aiohttp
from chat_roundtrip import free_port  # bench/ is on sys.path as a script
from smtp_ingest import pg_drop_schema, pg_schema_url

TARGET_P95_MS = 20.0
AREA, POSTAL = "lantinen", "00320"
WARMUP = 5  # claims by one counsellor before the clock starts (not timed)


def pct(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else None


def figures(took: list[float], elapsed: float) -> dict[str, Any]:
    return {"claims": len(took), "p50_ms": pct(took, 0.5), "p95_ms": pct(took, 0.95),
            "p99_ms": pct(took, 0.99), "max_ms": max(took, default=None),
            "seconds": elapsed, "claims_per_s": len(took) / elapsed if elapsed else 0.0}


def doubles(claims: list[tuple[int, int]]) -> int:
    """Ids that two different counsellors were given."""
    holders: dict[int, set[int]] = {}
    for who, cid in claims:
        holders.setdefault(cid, set()).add(who)
    return sum(1 for h in holders.values() if len(h) > 1)


def seed(session: Any, callbacks: int, counsellors: int, now: datetime
         ) -> tuple[list[int], list[str]]:
    from inbox.accounts import create_token
    from inbox.callbacks import QueueRules, add_callback
    from inbox.staff import add_staff

    rules = QueueRules()
    for n in range(callbacks):
        add_callback(session, phone=f"+3584010{n:05d}", postal_code=POSTAL, area_code=AREA,
                     language="fi", reason=None, topic="Vuokrarästi, soittakaa.", window=None,
                     priority=n % 3, contact_id=None, source="form", rules=rules,
                     now=now - timedelta(seconds=callbacks - n))
    staff, tokens = [], []
    for c in range(counsellors):
        email = f"neuvoja{c}@hel.fi"
        staff.append(add_staff(session, email, f"Neuvoja {c}", [AREA], "counsellor").id)
        tokens.append(create_token(session, email, "bench"))
    return staff, tokens


def db_check(session: Any, claims: list[tuple[int, int]], staff: list[int]) -> dict[str, int]:
    """Every claimed id: done, one attempt, recorded by the counsellor who was given it."""
    from sqlalchemy import func, select

    from inbox.models import CallbackAttempt, CallbackRequest

    by_id = CallbackAttempt.callback_id
    seen = {cid: (n, sid) for cid, n, sid in session.execute(select(
        by_id, func.count(), func.min(CallbackAttempt.staff_id)).group_by(by_id))}
    states = dict(session.execute(select(CallbackRequest.state, func.count())
                                  .group_by(CallbackRequest.state)).all())
    return {"db_doubles": sum(1 for n, _ in seen.values() if n > 1),
            "db_mismatches": sum(1 for cid, who in {c: w for w, c in claims}.items()
                                 if seen.get(cid, (0, -1))[1] != staff[who]),
            "done": states.get("done", 0), "left_claimed": states.get("claimed", 0),
            "left_queued": states.get("queued", 0)}


def run_clients(base: str, tokens: list[str], seconds: float, timeout: float,
                think: float) -> dict[str, Any]:
    return asyncio.run(_clients(base, tokens, seconds, timeout, think))


async def _clients(base: str, tokens: list[str], seconds: float, timeout: float,
                   think: float) -> dict[str, Any]:
    took: list[float] = []
    attempts: list[float] = []
    claims: list[tuple[int, int]] = []
    errors: list[str] = []
    emptied = 0

    async def counsellor(http: aiohttp.ClientSession, c: int, until: float,
                         timed: bool = True) -> None:
        nonlocal emptied
        auth = {"Authorization": f"Bearer {tokens[c]}"}
        if think and timed:  # counsellors do not start in step
            await asyncio.sleep(random.uniform(0, think))
        while time.monotonic() < until and (timed or len(claims) < WARMUP):
            t0 = time.perf_counter()
            async with http.post(f"{base}/claim", headers=auth) as r:
                body = await r.read()
            ms = 1000 * (time.perf_counter() - t0)
            if r.status == 204:
                emptied += timed
                return
            if r.status != 200:
                errors.append(f"claim: HTTP {r.status} {body[:120]!r}")
                continue  # e.g. a 409 Busy: claim again
            cid = int(json.loads(body)["id"])
            claims.append((c, cid))
            if timed:
                took.append(ms)
            t0 = time.perf_counter()
            async with http.post(f"{base}/{cid}/attempts", headers=auth,
                                 json={"result": "reached", "notes": ""}) as r:
                body = await r.read()
            if r.status != 201:  # still held: claiming again would give the same id
                errors.append(f"attempt {cid}: HTTP {r.status} {body[:120]!r}")
                return
            if timed:
                attempts.append(1000 * (time.perf_counter() - t0))
            if think and timed:  # the call itself: a counsellor's pause before the next
                await asyncio.sleep(think * random.uniform(0.5, 1.5))

    connector = aiohttp.TCPConnector(limit=len(tokens) + 10)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        # WARMUP claims first: the service's first statements compile and cache
        await counsellor(http, 0, time.monotonic() + timeout, timed=False)
        t0 = time.perf_counter()
        until = time.monotonic() + seconds
        results = await asyncio.gather(*(counsellor(http, c, until) for c in range(len(tokens))),
                                       return_exceptions=True)
        elapsed = time.perf_counter() - t0
    errors += [f"{type(e).__name__}: {e}" for e in results if isinstance(e, BaseException)]
    return {**figures(took, elapsed), "attempt_p50_ms": pct(attempts, 0.5),
            "attempt_p95_ms": pct(attempts, 0.95), "claimed": claims, "errors": errors[:50],
            "emptied": emptied}


def run_bare(url: str, pg: bool, staff: list[int], seconds: float, timeout: float
             ) -> dict[str, Any]:
    from sqlalchemy import Table, create_engine, or_, select, text, update

    from inbox.db import make_engine
    from inbox.models import CallbackRequest

    t, now = cast(Table, CallbackRequest.__table__), datetime.now(UTC)
    engine = (create_engine(url, pool_size=len(staff), max_overflow=0, pool_timeout=timeout)
              if pg else make_engine(url))
    pick = (select(t.c.id).where(t.c.state == "queued",
                                 or_(t.c.not_before.is_(None), t.c.not_before <= now),
                                 or_(t.c.window_from.is_(None), t.c.window_from <= now),
                                 or_(t.c.area_code.in_([AREA]), t.c.area_code.is_(None)))
            .order_by(t.c.priority.desc(), t.c.created_at, t.c.id).limit(1))
    if pg:
        pick = pick.with_for_update(skip_locked=True)
    with engine.begin() as conn:
        conn.execute(update(t).where(t.c.state != "queued").values(
            state="queued", claimed_by=None, claimed_at=None, closed_at=None, attempts=0))
    if pg:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE callback_requests"))
    took: list[float] = []
    claims: list[tuple[int, int]] = []
    errors: list[str] = []
    barrier = threading.Barrier(len(staff) + 1)

    def counsellor(c: int) -> None:
        barrier.wait()
        while time.monotonic() < until:
            t0 = time.perf_counter()
            with engine.begin() as conn:
                cid = conn.scalar(pick)
                if cid is None:
                    return
                taken = conn.execute(update(t).where(t.c.id == cid, t.c.state == "queued")
                                     .values(state="claimed", claimed_by=staff[c],
                                             claimed_at=datetime.now(UTC))).rowcount
            if taken != 1:
                errors.append(f"lost the race for {cid}")
                continue
            took.append(1000 * (time.perf_counter() - t0))
            claims.append((c, cid))
            with engine.begin() as conn:
                conn.execute(update(t).where(t.c.id == cid).values(
                    state="done", claimed_by=None, claimed_at=None, attempts=1,
                    closed_at=datetime.now(UTC)))

    threads = [threading.Thread(target=counsellor, args=(c,), daemon=True)
               for c in range(len(staff))]
    for thread in threads:
        thread.start()
    until = time.monotonic() + seconds
    barrier.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join(max(0.0, until + timeout - time.monotonic()))
    elapsed = time.perf_counter() - t0
    if any(thread.is_alive() for thread in threads):
        errors.append("a thread was still running at the time limit")
    engine.dispose()
    return {**figures(took, elapsed), "doubles": doubles(claims), "errors": errors}


async def main_async(args: argparse.Namespace, pool: ProcessPoolExecutor) -> dict[str, Any]:
    from config.serve import settle_memory, start
    from config.settings import Settings

    pg_url, schema, pg = (pg_schema_url(args.database_url) if args.database_url
                          else (None, None, None))
    try:
        with tempfile.TemporaryDirectory(prefix="yhteys-bench-") as var:
            env = {"YHTEYS_VAR_DIR": var, "YHTEYS_HTTP_HOST": "127.0.0.1",
                   "YHTEYS_HTTP_PORT": str(free_port()), "YHTEYS_SMTP_HOST": "127.0.0.1",
                   "YHTEYS_SMTP_PORT": str(free_port()), "YHTEYS_SECRET_KEY": "bench",
                   "YHTEYS_COOKIE_SECURE": "0"}
            if pg_url:
                env["YHTEYS_DATABASE_URL"] = pg_url
            running = await asyncio.wait_for(start(Settings.from_env(env)), args.timeout)
            settle_memory()  # as `yhteys serve` does once started
            try:
                store = running.system.store
                url = pg_url or store.engine.url.render_as_string(hide_password=False)
                t0 = time.perf_counter()
                staff, tokens = await asyncio.wait_for(store.call(
                    seed, args.callbacks, args.counsellors, running.system.clock.now()),
                    args.timeout)
                seeded_s = time.perf_counter() - t0
                base = f"http://127.0.0.1:{running.http_port}/api/v1/callbacks"
                ours = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(
                    pool, run_clients, base, tokens, args.seconds, args.timeout, args.think),
                    args.seconds + 2 * args.timeout)
                claimed = ours.pop("claimed")
                ours["doubles"] = doubles(claimed)
                ours.update(await asyncio.wait_for(
                    store.call(db_check, claimed, staff), args.timeout))
            finally:
                await running.stop()
            bare = (await asyncio.wait_for(asyncio.to_thread(
                run_bare, url, bool(pg_url), staff, args.seconds, args.timeout),
                args.seconds + 3 * args.timeout) if not args.no_bare else None)
    finally:
        if schema and args.database_url:
            pg_drop_schema(args.database_url, schema)
    p95 = ours["p95_ms"]
    return {"date": time.strftime("%Y-%m-%d"), "python": sys.version.split()[0],
            "backend": "postgresql" if pg else "sqlite", "postgresql": pg,
            "callbacks": args.callbacks, "counsellors": args.counsellors, "think_s": args.think,
            "seed_s": seeded_s,
            "ours": ours, "bare": bare, "target_p95_ms": TARGET_P95_MS,
            "target_ratio": TARGET_P95_MS / p95 if p95 else None,
            "bare_ratio": p95 / bare["p95_ms"] if bare and bare["p95_ms"] and p95 else None}


def print_report(out: dict[str, Any]) -> None:
    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    ours, bare, pg = out["ours"], out["bare"], out["postgresql"]
    print(f"claim next: {out['counsellors']} counsellors, {out['callbacks']} callbacks "
          f"(seeded in {out['seed_s']:.1f} s), think {out['think_s']:g} s, {out['backend']}"
          f"{' ' + pg['server_version'] if pg else ''}, Python {out['python']}")
    print(f"{'':<6}{'claims':>8}{'claims/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'max ms':>9}{'doubles':>9}")
    for name, r in (("ours", ours), ("bare", bare or {})):
        if r:
            print(f"{name:<6}{r['claims']:>8}{r['claims_per_s']:>10.0f}" + "".join(
                f"{ms(r[k]):>9}" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms"))
                + f"{r['doubles']:>9}")
        for e in r.get("errors", [])[:5]:
            print(f"  {name} error: {e}")
    print(f"ours: attempt p50 {ms(ours['attempt_p50_ms'])} ms, p95 {ms(ours['attempt_p95_ms'])}"
          f" ms; {ours['emptied']}/{out['counsellors']} counsellors saw the queue empty in "
          f"{ours['seconds']:.1f} s")
    print(f"ours in the database: {ours['done']} done, {ours['left_claimed']} claimed, "
          f"{ours['left_queued']} queued; doubles {ours['db_doubles']}, claimer "
          f"mismatches {ours['db_mismatches']}")
    ratio = "-" if out["target_ratio"] is None else f"{out['target_ratio']:.2f}"
    print(f"anchor: issue 10's target p95 {out['target_p95_ms']:.0f} ms; target / ours p95 = "
          f"{ratio} (above 1: faster than the target)")
    if bare and bare["p95_ms"]:
        print(f"ours / bare: p95 {out['bare_ratio']:.1f}x, claims/s "
              f"{ours['claims_per_s'] / bare['claims_per_s']:.2f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--callbacks", type=int, default=3000, help="queued requests to seed")
    p.add_argument("--counsellors", type=int, default=50, help="concurrent counsellors")
    p.add_argument("--seconds", type=float, default=20, help="claiming stops after this")
    p.add_argument("--think", type=float, default=0.0,
                   help="seconds each counsellor pauses after a call (0: claim at once again)")
    p.add_argument("--database-url", help="a loopback PostgreSQL URL (default: SQLite)")
    p.add_argument("--timeout", type=float, default=30, help="seconds per phase at most")
    p.add_argument("--no-bare", action="store_true", help="skip the bare SQL anchor")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args()
    if args.callbacks < 1 or args.counsellors < 1:
        p.error("--callbacks and --counsellors must be at least 1")
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        out = asyncio.run(main_async(args, pool))
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    else:
        print_report(out)
    ours, bare = out["ours"], out["bare"] or {"doubles": 0}
    bad = ours["doubles"] + ours["db_doubles"] + ours["db_mismatches"] + bare["doubles"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
