"""SMTP ingest: our listener beside a bare aiosmtpd server, same machine, same run.

    .venv/bin/python bench/smtp_ingest.py [--messages 1000] [--connections 4]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--wait-routed] [--rounds 1] [--edge-only] [--timeout 120] [--json]

Two servers run one after the other on one asyncio loop in this process:

* bare: `aiosmtpd.smtp.SMTP` through `loop.create_server`, a handler whose DATA hook says
  "250 OK" and keeps nothing;
* ours: `config.serve.start` (the whole embedded service), whose SMTP listener commits the
  raw mail to the database before it says "250 2.0.0 OK queued as N".

The clients are N smtplib connections, one thread each, in a separate process (so client
and server do not share one GIL); each connection sends its share of small Finnish mails,
each with its own Message-ID. The rate counts mails *accepted and durably stored* (a 250
to DATA). In the embedded mode every accepted mail also queues an in-process parse-and-route
job that runs in this same process during the measurement; --wait-routed also times until
every raw mail of the run is in state 'processed'. --edge-only (a diagnostic) queues no
routing job, to show what the durable write alone costs. --rounds N repeats bare + ours
and reports the median round of each.

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
import smtplib
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

SERVICE = "asumisneuvonta@yhteys.test"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
WARMUP = 20  # mails per server before measuring (not counted)

SENDERS = [
    ("Matti Meikäläinen", "matti.meikalainen"), ("Aino Virtanen", "aino.virtanen"),
    ("Jussi Korhonen", "jussi.korhonen"), ("Leena Nieminen", "leena.nieminen"),
    ("Pekka Mäkinen", "pekka.makinen"), ("Sari Hämäläinen", "sari.hamalainen"),
    ("Ahmed Yusuf", "ahmed.yusuf"), ("Kaisa Laine", "kaisa.laine"),
]
PLACES = [
    ("Kivihaantie 5 B 12", "00320"), ("Kontulantie 10 A 4", "00940"),
    ("Runeberginkatu 43 C 30", "00250"), ("Agricolankatu 7 A 2", "00530"),
    ("Malminkaari 22 B 15", "00700"), ("Vuosaarentie 3 D 41", "00980"),
    ("Kotkankatu 9 A 8", "00510"), ("Myllypurontie 18 C 5", "00920"),
]
BODIES = [
    ("Vuokravelka", "Hei,\n\nminulle on kertynyt vuokravelkaa noin {euros} euroa, enkä pysty "
     "maksamaan tämän kuun vuokraa. Asun osoitteessa {street}, {postal} Helsinki.\n"
     "Voisiko joku neuvoja soittaa minulle? Olen tavoitettavissa arkisin klo 9-16.\n\n"
     "Ystävällisin terveisin\n{name}"),
    ("Häätöuhka", "Hei,\n\nsain vuokranantajalta kirjeen, että vuokrasopimus puretaan ja asia "
     "viedään käräjäoikeuteen. Vuokrarästiä on {euros} euroa. Osoite: {street}, {postal} "
     "Helsinki.\nMitä minun pitäisi tehdä?\n\n{name}"),
    ("Häiriöt naapurissa", "Hei,\n\nnaapurissa on ollut jo kuukauden ajan häiritsevää "
     "meteliä öisin. Olen puhunut isännöitsijälle, mutta mikään ei ole muuttunut. Asun "
     "osoitteessa {street}, {postal} Helsinki.\n\nKiitos avusta,\n{name}"),
    ("Kosteusvaurio", "Hei,\n\nkylpyhuoneessa on kosteutta ja seinässä homeen hajua. "
     "Vuokranantaja ei ole vastannut viesteihini. Osoite {street}, {postal} Helsinki.\n"
     "Voinko saada neuvoa, miten edetä?\n\nTerveisin\n{name}"),
]


# --- client side: runs in a child process -----------------------------------------------------


def build_mail(tag: str, conn: int, i: int) -> bytes:
    name, local = SENDERS[(conn * 3 + i) % len(SENDERS)]
    street, postal = PLACES[(conn + i) % len(PLACES)]
    subject, body = BODIES[i % len(BODIES)]
    mail = EmailMessage()
    mail["From"] = f"{name} <{local}@example.fi>"
    mail["To"] = SERVICE
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = f"<bench.{tag}.{conn}.{i}@example.fi>"
    mail.set_content(body.format(euros=400 + 37 * i, street=street, postal=postal, name=name))
    return mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))


def run_clients(port: int, connections: int, per_connection: int, timeout: float) -> dict:
    """N smtplib connections, one per thread, each sending its share; timed from a barrier."""
    tag = uuid.uuid4().hex[:12]
    mails = [[build_mail(tag, c, i) for i in range(per_connection)] for c in range(connections)]
    barrier = threading.Barrier(connections + 1)
    results: list[dict[str, Any]] = [{} for _ in range(connections)]

    def client(c: int) -> None:
        ok, latencies, errors, last = 0, [], [], ""
        try:
            smtp = smtplib.SMTP("127.0.0.1", port, timeout=30, local_hostname="bench.localhost")
            smtp.ehlo()
        except (OSError, smtplib.SMTPException) as exc:
            barrier.wait()
            results[c] = {"ok": 0, "latencies": [], "errors": [f"connect: {exc}"], "last": ""}
            return
        barrier.wait()
        deadline = time.monotonic() + timeout
        try:
            for data in mails[c]:
                if time.monotonic() > deadline:
                    errors.append("time limit reached")
                    break
                t0 = time.perf_counter()
                try:
                    code, text = smtp.mail(f"{SENDERS[c % len(SENDERS)][1]}@example.fi")
                    if code == 250:
                        code, text = smtp.rcpt(SERVICE)
                    if code in (250, 251):
                        code, text = smtp.data(data)
                    else:
                        smtp.rset()
                except smtplib.SMTPResponseException as exc:  # data() raises on non-250
                    code, text = exc.smtp_code, exc.smtp_error
                    smtp.rset()
                if code == 250:
                    ok += 1
                    latencies.append(time.perf_counter() - t0)
                    last = text.decode(errors="replace")
                else:
                    errors.append(f"{code} {text.decode(errors='replace')}")
            smtp.quit()
        except (OSError, smtplib.SMTPException) as exc:
            errors.append(f"connection: {type(exc).__name__}: {exc}")
        results[c] = {"ok": ok, "latencies": latencies, "errors": errors, "last": last}

    threads = [threading.Thread(target=client, args=(c,)) for c in range(connections)]
    for t in threads:
        t.start()
    barrier.wait()
    started_wall, t0 = time.time(), time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    latencies = sorted(x for r in results for x in r["latencies"])
    errors = [e for r in results for e in r["errors"]]
    return {
        "sent": connections * per_connection,
        "accepted": sum(r["ok"] for r in results),
        "failed": connections * per_connection - sum(r["ok"] for r in results),
        "errors": errors[:5],
        "seconds": elapsed,
        "started_wall": started_wall,
        "mail_bytes": round(statistics.mean(len(m) for ms in mails for m in ms)),
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        if latencies else None,
        "last_reply": next((r["last"] for r in results if r["last"]), ""),
    }


# --- server side -------------------------------------------------------------------------------


class BareHandler:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


async def clients(pool: Executor, port: int, messages: int, connections: int,
                  timeout: float) -> dict:
    """The clients' figures, and the CPU this (the server's) process spent meanwhile: a
    loaded machine moves the rates, CPU per mail much less."""
    per = max(1, messages // connections)
    cpu = time.process_time()
    result = await asyncio.wrap_future(pool.submit(run_clients, port, connections, per,
                                                   timeout))
    result["server_cpu_ms"] = (time.process_time() - cpu) * 1000 / max(1, result["accepted"])
    return result


def rate(result: dict) -> float:
    return result["accepted"] / result["seconds"] if result["seconds"] else 0.0


async def bench_bare(args: argparse.Namespace, pool: Executor) -> dict:
    from aiosmtpd.smtp import SMTP

    loop = asyncio.get_running_loop()
    handler = BareHandler()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="bench.localhost", ident="bare aiosmtpd"),
        "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await clients(pool, port, WARMUP, 1, args.timeout)
        return await clients(pool, port, args.messages, args.connections, args.timeout)
    finally:
        server.close()
        await server.wait_closed()


def _raw_counts(session: Any) -> tuple[int, int]:
    from sqlalchemy import func, select

    from inbox.models import RawInbound

    total = session.scalar(select(func.count()).select_from(RawInbound))
    done = session.scalar(select(func.count()).select_from(RawInbound)
                          .where(RawInbound.state == "processed"))
    return int(total or 0), int(done or 0)


async def bench_ours(args: argparse.Namespace, pool: Executor, database_url: str | None,
                     var_dir: str) -> dict:
    from config.serve import settle_memory, start
    from config.settings import Settings

    env = {
        "YHTEYS_VAR_DIR": var_dir,
        "YHTEYS_HTTP_HOST": "127.0.0.1", "YHTEYS_HTTP_PORT": "0",  # 0: the OS picks a free
        "YHTEYS_SMTP_HOST": "127.0.0.1", "YHTEYS_SMTP_PORT": "0",  # port, read back below
        "YHTEYS_SERVICE_ADDRESS": SERVICE,
        "YHTEYS_SECRET_KEY": "bench",
        "YHTEYS_COOKIE_SECURE": "0",
    }
    if database_url:
        env["YHTEYS_DATABASE_URL"] = database_url
    running = await start(Settings.from_env(env))
    settle_memory()  # as `yhteys serve` does once started
    if args.edge_only:  # diagnostic: the listener holds this same queue object
        running.system.jobs.enqueue = lambda *a, **k: None  # type: ignore[method-assign]
    loop = asyncio.get_running_loop()
    # Counting runs on its own thread, so it never queues behind the service's own work.
    counter = ThreadPoolExecutor(1, thread_name_prefix="bench-count")

    async def counts() -> tuple[int, int]:
        return await loop.run_in_executor(counter, running.system.store.run, _raw_counts)

    async def wait_processed(total: int) -> bool:
        deadline = time.monotonic() + args.timeout
        while (await counts())[1] < total:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    try:
        await clients(pool, running.smtp_port, WARMUP, 1, args.timeout)
        if not args.edge_only:
            await wait_processed((await counts())[0])  # start from an idle service
        before, _ = await counts()
        result = await clients(pool, running.smtp_port, args.messages, args.connections,
                               args.timeout)
        stored, _ = await counts()
        result["stored_rows"] = stored - before
        if args.wait_routed and not args.edge_only:
            if await wait_processed(stored):
                result["routed_seconds"] = time.time() - result["started_wall"]
            else:
                result["routed_seconds"] = None
                result["errors"].append("routing did not finish within --timeout")
        return result
    finally:
        await running.stop()
        counter.shutdown()


# --- PostgreSQL: a throwaway schema in the given database --------------------------------------


def pg_schema_url(url: str) -> tuple[str, str, dict[str, str]]:
    """Create a fresh schema: (url whose search_path is that schema, schema, server settings)."""
    from sqlalchemy import create_engine, make_url, text

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit("--database-url: only PostgreSQL URLs (SQLite is the default)")
    if (parsed.host or "localhost") not in LOOPBACK:
        raise SystemExit(f"--database-url: {parsed.host} is not a loopback address")
    schema = f"yhteys_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(parsed, connect_args={"connect_timeout": 5})
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            settings = {k: conn.execute(text(f"SHOW {k}")).scalar()
                        for k in ("server_version", "fsync", "synchronous_commit")}
    except Exception as exc:
        raise SystemExit(f"--database-url: cannot reach {parsed.render_as_string()}: "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    finally:
        engine.dispose()
    with_path = parsed.update_query_dict({"options": f"-csearch_path={schema}"})
    return with_path.render_as_string(hide_password=False), schema, settings


def pg_drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


# --- report ------------------------------------------------------------------------------------


def report(args: argparse.Namespace, backend: str, ours: dict, bare: dict,
           pg_settings: dict[str, str] | None) -> dict:
    ratio = rate(ours) / rate(bare) if rate(bare) else None
    out: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "messages": bare["sent"], "connections": args.connections,
        "mail_bytes": bare["mail_bytes"], "backend": backend, "edge_only": args.edge_only,
        "ours": {**ours, "rate": rate(ours)}, "bare": {**bare, "rate": rate(bare)},
        "ratio": ratio,
    }
    if ours.get("routed_seconds"):
        out["ours"]["routed_rate"] = ours["accepted"] / ours["routed_seconds"]
    if pg_settings:
        out["postgresql"] = pg_settings
    return out


def print_table(r: dict) -> None:
    print(f"SMTP ingest, {r['connections']} connections x {r['messages'] // r['connections']} "
          f"mails ({r['messages']} of ~{r['mail_bytes']} bytes), loopback, "
          f"{r['machine']['cpus']} CPUs, Python {r['machine']['python']}")
    print(f"database: {r['backend']}"
          + (f"  {r['postgresql']}" if "postgresql" in r else ""))
    head = f"{'server':<44}{'accepted':>9}{'failed':>7}{'seconds':>9}{'msg/s':>9}" \
           f"{'p50 ms':>8}{'p99 ms':>8}{'CPU ms/mail':>12}"
    print(head)
    print("-" * len(head))
    ours_label = "yhteys --edge-only: stored, not routed" if r["edge_only"] \
        else "yhteys: accepted and durably stored"
    rows = [(ours_label, r["ours"]),
            ("bare aiosmtpd: 250 OK, nothing kept", r["bare"])]
    for label, x in rows:
        print(f"{label:<44}{x['accepted']:>9}{x['failed']:>7}{x['seconds']:>9.2f}"
              f"{x['rate']:>9.1f}{x['p50_ms'] or 0:>8.1f}{x['p99_ms'] or 0:>8.1f}"
              f"{x['server_cpu_ms']:>12.2f}")
    ours = r["ours"]
    if "routed_seconds" in ours:
        secs = ours["routed_seconds"]
        print(f"{'yhteys: accepted and routed (all processed)':<44}{ours['accepted']:>9}"
              f"{'':>7}{secs or float('nan'):>9.2f}{ours.get('routed_rate', 0):>9.1f}")
    ratio = f"{r['ratio']:.3f}" if r["ratio"] is not None else "n/a"
    print(f"ratio ours/bare (stored): {ratio}")
    if "rounds" in r:
        print(f"medians of {len(r['rounds'])} rounds; per round (ours, bare, ratio): "
              + "; ".join(f"{x['ours']:.1f}, {x['bare']:.1f}, {x['ratio']:.3f}"
                          for x in r["rounds"]))
    print(f"raw rows stored by ours: {ours['stored_rows']}; last reply: {ours['last_reply']!r}")
    if not r["edge_only"]:
        print("(in-process routing jobs run in the same process while mails are accepted)")
    for label, x in rows:
        for e in x["errors"]:
            print(f"  {label.split(':')[0]} error: {e}")


def median_round(rounds: list[dict]) -> dict:
    """The round whose rate is the median (the lower middle one for an even count)."""
    ordered = sorted(rounds, key=rate)
    return ordered[(len(ordered) - 1) // 2]


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
        result["rounds"] = [{"ours": rate(o), "bare": rate(b), "ratio": rate(o) / rate(b)}
                            for o, b in zip(ourses, bares, strict=True)]
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=1000, help="mails per server (default 1000)")
    p.add_argument("--connections", type=int, default=4, help="concurrent SMTP connections")
    p.add_argument("--database-url", help="a loopback PostgreSQL URL (default: SQLite)")
    p.add_argument("--wait-routed", action="store_true",
                   help="also time until every mail is parsed and routed")
    p.add_argument("--edge-only", action="store_true",
                   help="diagnostic: queue no routing job (mail stays 'stored'), to see the "
                        "cost of the durable write alone")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat bare + ours this many times; report the median of each")
    p.add_argument("--timeout", type=float, default=120, help="seconds per phase at most")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args(argv)
    if not (1 <= args.connections <= 64 and args.connections <= args.messages <= 100_000):
        p.error("need 1 <= connections <= 64 and connections <= messages <= 100000")
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
