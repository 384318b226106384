"""kill -9 of the serve that polls the IMAP mailbox (issue 10). Its lease is a PostgreSQL
advisory lock held on its own connection, so it dies with the process: the other serve,
standing by, takes the mailbox over within a few of its intervals, and the mailbox's
checkpoint (UIDVALIDITY + UID, in the database) means nothing is imported twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import aiohttp
import psycopg
import pytest

from tests.conftest import Service, free_port, until_healthy
from tests.integration.test_deployment import _command
from tests.integration.test_email_imap import _append, imap_env  # noqa: F401
from tests.integration.test_worker_kill import Shape, procs  # noqa: F401 (fixtures)

pytestmark = pytest.mark.shared


async def _holder(http: aiohttp.ClientSession, url: str) -> str | None:
    """Who polls the mailbox, as a serve's /healthz tells an operator."""
    async with http.get(url + "/healthz") as r:
        holders = (await r.json())["checks"]["leases"]["holders"]
    return next((who for lease, who in holders.items() if lease.startswith("imap:")), None)


async def _until_holder(http: aiohttp.ClientSession, url: str, pid: int,
                        timeout: float = 15) -> float:
    """Seconds until the process `pid` holds the mailbox's lease."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if (await _holder(http, url) or "").endswith(f" {pid}"):
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"pid {pid} did not take the mailbox in {timeout} s")


async def test_a_serve_killed_while_polling_imap_is_replaced_by_the_other(
        service: Service, imap_env: dict[str, str], tmp_path: Path,  # noqa: F811
        procs: dict[str, subprocess.Popen[bytes]]) -> None:  # noqa: F811
    shape = Shape(service, tmp_path, procs)
    shape.env.update(imap_env)
    _append(imap_env, "Asiakkaan vuokrat maksamatta, 00940 Helsinki", "<kill-1@kela.fi>")
    lead = await shape.up()  # serve-a, which takes the mailbox, and a worker
    first = shape.procs["serve"]
    http = service.http
    await _until_holder(http, shape.url, first.pid)
    await shape.serve.wait_contacts(lead, 1, timeout=30)
    b_url = f"http://127.0.0.1:{free_port()}"
    with (tmp_path / "serve-b.log").open("wb") as log:
        procs["serve-b"] = subprocess.Popen(
            _command("serve-b"), stdout=log, stderr=log, start_new_session=True,
            env={**shape.env, "YHTEYS_HTTP_PORT": b_url.rsplit(":", 1)[1],
                 "YHTEYS_SMTP_PORT": str(free_port())})
    second = procs["serve-b"]
    await until_healthy(b_url, second, timeout=60)
    assert (await _holder(http, b_url) or "").endswith(f" {first.pid}")  # B stands by
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    took = await _until_holder(http, b_url, second.pid)
    assert took < 5, took  # the lock went with A's connection; B asks every 0.2 s
    _append(imap_env, "Uusi asia, 00320 Helsinki", "<kill-2@kela.fi>")
    shape.serve.proxy_url = b_url
    contacts = await shape.serve.wait_contacts(lead, 2, timeout=30)
    assert len(contacts) == 2
    url = shape.env["YHTEYS_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:  # the first mail was not imported again
        assert conn.execute("SELECT count(*) FROM raw_inbound").fetchone() == (2,)
