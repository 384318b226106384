"""The full email path in production shape beside the peer, django-helpdesk 2.6.1, on one
corpus in one run.

    .venv/bin/python bench/email_path.py [--mails 500] [--replies 150] [--workers 2]
        [--connections 4] [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--skip-peer] [--timeout 300] [--json]

* ours: what docker-compose.yml runs, as local processes: `yhteys serve` (one) and
  `yhteys worker` (--workers, default 2) on a fresh PostgreSQL database (created through
  --admin-url on a loopback server, dropped afterwards) and a Redis server of their own
  (`redis-server` on a free port, nothing on disk). The corpus (bench/email_corpus.py) goes
  in over SMTP, --connections at once, round robin in arrival order (so a reply may reach
  a worker before the mail it answers, as it can in production); the clock runs from the
  first MAIL to the moment every raw mail is `processed`: stored, parsed, threaded, routed
  (after the workers have registered with rq and 10 warm-up mails of other senders).
  Receipts to residents are off (the peer's notifications are built but never sent).
  CPU: user + system time of the serve and workers over the same span (/proc).
* peer: bench/helpdesk_peer.py: django-helpdesk 2.6.1 from PyPI in a throwaway venv,
  `manage.py get_email` on the same mails in a local mailbox directory (interpreter and
  Django start-up included in its time; the net rate leaves them out).

Both report how many replies landed on their thread's first mail: ours by the Message-ID
each message keeps, the peer by its follow-ups' tickets. The ratio is ours / peer, mails
per second (10 is issue 10's target). Loopback only, bounded, stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from chat_roundtrip import free_port  # bench/ is on sys.path as a script
from email_corpus import corpus, threads
from smtp_ingest import LOOPBACK, SERVICE, build_mail

ROOT = Path(__file__).resolve().parent.parent
YHTEYS = Path(sys.executable).with_name("yhteys")
TICK = os.sysconf("SC_CLK_TCK")
WARMUP = 10  # mails routed before the clock starts (each a thread of its own)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these live processes so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


class Shape:
    """Serves and workers on a database and a Redis of their own (also used by
    bench/chat_connections.py)."""

    def __init__(self, admin_url: str, workers: int, folder: Path, timeout: float,
                 serves: int = 1, env: dict[str, str] | None = None):
        from sqlalchemy import create_engine, make_url, text

        admin = make_url(admin_url)
        if (admin.host or "localhost") not in LOOPBACK:
            raise SystemExit(f"--admin-url: {admin.host} is not a loopback address")
        self.database = f"yhteys_bench_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(admin, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.database}"'))
            self.pg = {k: conn.execute(text(f"SHOW {k}")).scalar()
                       for k in ("server_version", "fsync", "synchronous_commit")}
        self.url = admin.set(database=self.database).render_as_string(hide_password=False)
        self.engine = create_engine(self.url)
        self.folder, self.timeout, self.procs = folder, timeout, {}
        redis_port, self.smtp_port = free_port(), free_port()
        self.http_ports = [free_port() for _ in range(serves)]
        self.start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"], {})
        self.env = {**os.environ, "YHTEYS_DATABASE_URL": self.url,
                    "YHTEYS_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                    "YHTEYS_SECRET_KEY": "bench-only", "YHTEYS_SERVICE_ADDRESS": SERVICE,
                    "YHTEYS_VAR_DIR": str(folder / "var"), "YHTEYS_EMAIL_RECEIPTS": "0",
                    "YHTEYS_SMTP_RELAY": f"127.0.0.1:{free_port()}",  # nothing is sent
                    "YHTEYS_SMTP_MAX_PER_CLIENT": "200", "YHTEYS_COOKIE_SECURE": "0",
                    **(env or {})}
        for n, http_port in enumerate(self.http_ports):  # the first migrates, then the rest
            name = "serve" if n == 0 else f"serve-{n + 1}"
            self.start(name, [str(YHTEYS), "serve"], {
                **self.env, "YHTEYS_HTTP_PORT": str(http_port),
                "YHTEYS_SMTP_PORT": str(self.smtp_port if n == 0 else free_port())})
            self._until_healthy(name, f"http://127.0.0.1:{http_port}/healthz")
        for n in range(workers):
            self.start(f"worker-{n + 1}", [str(YHTEYS), "worker"], self.env)
        self._until_workers(workers)

    def _until_workers(self, count: int) -> None:
        """Until every worker has registered with rq (imported, wired, listening)."""
        from redis import Redis

        redis = Redis.from_url(self.env["YHTEYS_REDIS_URL"])
        deadline = time.monotonic() + self.timeout
        while redis.scard("rq:workers") < count:
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not start in time")
            time.sleep(0.1)
        redis.close()

    def until_processed(self, count: int, deadline: float) -> None:
        while (done := self.processed()) < count:
            if time.perf_counter() > deadline:
                raise SystemExit(f"ours: {done} of {count} routed in time; logs in "
                                 f"{self.folder}")
            time.sleep(0.02)

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = (self.folder / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(command, env=env or None, stdout=log, stderr=log,
                                            start_new_session=True)

    def _until_healthy(self, name: str, url: str) -> None:
        import urllib.request

        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                log = (self.folder / f"{name}.log").read_text()
                raise SystemExit(f"{name} exited:\n{log[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("serve was not healthy in time")

    def processed(self) -> int:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM raw_inbound WHERE state = 'processed'")).scalar() or 0)

    def threaded(self, mails: list[bytes]) -> dict[str, int]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            contact_of = dict(conn.execute(text(
                "SELECT m.channel_message_id, c.id FROM messages m JOIN contacts c "
                "ON c.conversation_id = m.conversation_id WHERE m.direction = 'in'")).all())
            contacts = int(conn.execute(text("SELECT count(*) FROM contacts")).scalar() or 0)
        contacts -= WARMUP  # each warm-up mail its own contact
        contact_of = {k: v for k, v in contact_of.items() if "warmup" not in (k or "")}
        replies = threads(mails)
        threaded = sum(1 for reply, first in replies.items()
                       if reply in contact_of and contact_of[reply] == contact_of.get(first))
        return {"contacts": contacts, "messages": len(contact_of), "threaded": threaded,
                "replies": len(replies)}

    def close(self) -> None:
        from sqlalchemy import text

        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
        self.engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        self.admin.dispose()


def send_all(port: int, mails: list[bytes], connections: int) -> list[str]:
    """The mails over `connections` SMTP sessions, round robin; what each refusal said."""
    shares = [mails[c::connections] for c in range(connections)]
    refused: list[str] = []

    def one(share: list[bytes]) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            for raw in share:
                try:
                    smtp.sendmail("mx@example.fi", [SERVICE], raw)
                except smtplib.SMTPException as exc:
                    refused.append(str(exc))

    senders = [threading.Thread(target=one, args=(s,)) for s in shares]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    return refused


def bench_ours(args: argparse.Namespace, mails: list[bytes]) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="yhteys-email-path-"))
    shape = Shape(args.admin_url, args.workers, folder, args.timeout)
    try:
        warmup = [build_mail("warmup", 0, i) for i in range(WARMUP)]  # other senders
        send_all(shape.smtp_port, warmup, 1)
        shape.until_processed(WARMUP, time.perf_counter() + args.timeout)
        pids = [p.pid for n, p in shape.procs.items() if n != "redis"]
        roles = {n: [p.pid] for n, p in shape.procs.items()}
        per0 = {n: cpu_seconds(r) for n, r in roles.items()}
        cpu0, t0 = cpu_seconds(pids), time.perf_counter()
        refused = send_all(shape.smtp_port, mails, args.connections)
        accepted_s = time.perf_counter() - t0
        shape.until_processed(WARMUP + len(mails) - len(refused), t0 + args.timeout)
        seconds, cpu = time.perf_counter() - t0, cpu_seconds(pids) - cpu0
        split = {n: 1000 * (cpu_seconds(r) - per0[n]) / len(mails) for n, r in roles.items()}
        version = str(shape.pg["server_version"]).split()[0]
        return {"system": f"yhteys (1 serve, {args.workers} workers, PostgreSQL {version})",
                "mails": len(mails),
                "refused": len(refused), "seconds": seconds, "accepted_s": accepted_s,
                "mails_per_s": len(mails) / seconds, "cpu_s": cpu,
                "cpu_ms_per_mail": 1000 * cpu / len(mails), "cpu_ms_by_process": split,
                **shape.threaded(mails),
                "database": f"postgresql {shape.pg}"}
    finally:
        shape.close()
        shutil.rmtree(folder, ignore_errors=True)


def print_table(ours: dict[str, Any], peer: dict[str, Any] | None) -> None:
    print(f"full email path, {ours['mails']} mails ({ours['replies']} replies), "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{'system':52} {'seconds':>8} {'mails/s':>8} {'CPU ms/mail':>11} {'threaded':>9}")
    print("-" * 92)
    print(f"{ours['system']:52} {ours['seconds']:8.2f} {ours['mails_per_s']:8.1f} "
          f"{ours['cpu_ms_per_mail']:11.2f} {ours['threaded']:>4}/{ours['replies']}")
    print("  ours' CPU ms a mail by process: " + ", ".join(
        f"{name} {ms:.2f}" for name, ms in ours["cpu_ms_by_process"].items()))
    if peer is None:
        return
    print(f"{peer['system'] + ' (Django ' + peer['django'] + ')':52} {peer['seconds']:8.2f} "
          f"{peer['mails_per_s']:8.1f} {1000 * peer['cpu_s'] / peer['mails']:11.2f} "
          f"{peer['threaded']:>4}/{peer['replies']}")
    print(f"ratio ours/peer (mails/s): {ours['mails_per_s'] / peer['mails_per_s']:.1f} "
          f"(peer net of its {peer['startup_s']:.2f} s start-up: "
          f"{ours['mails_per_s'] / peer['mails_per_s_net']:.1f}); contacts {ours['contacts']}, "
          f"peer tickets {peer['tickets']} (replies the peer read before their first mail: "
          f"{peer.get('out_of_order', 0)})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mails", type=int, default=500)
    p.add_argument("--replies", type=int, default=150)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                   help="a loopback PostgreSQL URL allowed to create a database")
    p.add_argument("--skip-peer", action="store_true", help="ours only")
    p.add_argument("--timeout", type=float, default=300, help="seconds per phase at most")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    mails = corpus(args.mails, args.replies)
    ours = bench_ours(args, mails)
    peer = None
    if not args.skip_peer:
        from helpdesk_peer import run_peer

        peer = run_peer(mails, timeout=args.timeout)
    if args.json:
        print(json.dumps({"ours": ours, "peer": peer}, indent=2, default=str))
    else:
        print_table(ours, peer)
    return 1 if ours["refused"] else 0


if __name__ == "__main__":
    sys.exit(main())
