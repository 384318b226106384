"""The `yhteys` command as an operator uses it: staff add, token create, demo, serve."""

from __future__ import annotations

import asyncio
import os
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import BACKEND, Service, free_port, reset_database, until_healthy
from tests.integration.test_email import mail
from tests.integration.test_web_security import browser, log_in


def yhteys(env: dict[str, str], *args: str, stdin: str | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "config.cli", *args], env={**os.environ, **env},
                          input=stdin, capture_output=True, text=True, timeout=60)


async def test_staff_added_by_cli_gets_a_working_token_and_password(service: Service):
    env = service.env
    added = await asyncio.to_thread(yhteys, env, "staff", "add", "liisa@hel.fi", "--name",
                                    "Liisa", "--area", "lantinen", "--password-stdin",
                                    stdin="pitkä salasana\n")
    assert added.returncode == 0, added.stderr
    token = (await asyncio.to_thread(yhteys, env, "token", "create", "liisa@hel.fi")).stdout
    me = await service.get_json("/api/v1/me", token.strip())
    assert me["email"] == "liisa@hel.fi" and me["areas"] == ["lantinen"]
    async with browser(service) as http:
        assert (await log_in(service, http, "liisa@hel.fi", "pitkä salasana")).status == 303


@pytest.mark.parametrize("args", [["demo"], ["demo", "--year"]])
def test_demo_refuses_a_database_other_than_the_embedded_default(args: list[str]):
    """Refused before anything is opened: no such database is even asked."""
    result = yhteys({"YHTEYS_DATABASE_URL": "postgresql+psycopg://demo@127.0.0.1:9/shared"},
                    *args)
    assert result.returncode == 2, result.stderr
    assert "only on the embedded default database (SQLite)" in result.stderr
    assert "Traceback" not in result.stderr and "Demo logins" not in result.stdout


@pytest.mark.parametrize("args, words", [
    (["staff", "add", "x@hel.fi", "--name", "X", "--area", "nowhere"], "unknown area"),
    (["token", "create", "nobody@hel.fi"], "no staff member"),
])
async def test_cli_mistakes_get_a_clear_message_and_exit_2(service: Service, args: list[str],
                                                         words: str):
    result = await asyncio.to_thread(yhteys, service.env, *args)
    assert result.returncode == 2
    assert words in result.stderr and "Traceback" not in result.stderr


async def test_serve_without_the_front_end_packages_says_so_and_stops(
        service: Service, tmp_path: Path):
    """Pages without their styles and chat client would look served and be broken."""
    env = {**service.env, "YHTEYS_ASSETS_DIR": str(tmp_path), "YHTEYS_HTTP_PORT": "0",
           "YHTEYS_SMTP_PORT": "0"}
    result = await asyncio.to_thread(yhteys, env, "serve")
    assert result.returncode != 0
    assert f"front-end packages are missing from {tmp_path}" in result.stderr
    assert "npm ci" in result.stderr and "Traceback" not in result.stderr


async def test_demo_prints_logins_that_work(service: Service):
    """On the embedded default only: elsewhere its logins without a second factor would be
    a door into a shared database."""
    result = await asyncio.to_thread(yhteys, service.env, "demo")
    if BACKEND == "postgres":
        assert result.returncode == 2 and "only on the embedded default" in result.stderr
        assert result.stdout == "" and "Traceback" not in result.stderr
        return
    assert result.returncode == 0, result.stderr
    logins = dict(line.split() for line in result.stdout.splitlines()[1:])
    assert len(logins) == 9 and "itainen@demo.yhteys.localhost" in logins
    async with browser(service) as http:
        email = "itainen@demo.yhteys.localhost"
        assert (await log_in(service, http, email, logins[email])).status == 303


async def test_serve_as_a_process_routes_a_mail_end_to_end(tmp_path: Path,
                                                          base_env: dict[str, str],
                                                          worker: object):
    """`yhteys serve` as operators start it. On SQLite it is the embedded default of README's
    run command (no database or Redis URL); on PostgreSQL the mail job goes through Redis to
    the real `yhteys worker` process."""
    http_port, smtp_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YHTEYS_")}
    env.update(YHTEYS_HTTP_PORT=str(http_port), YHTEYS_SMTP_PORT=str(smtp_port))
    if BACKEND == "postgres":
        reset_database(base_env["YHTEYS_DATABASE_URL"])
        env.update({k: base_env[k] for k in ("YHTEYS_DATABASE_URL", "YHTEYS_REDIS_URL",
                                             "YHTEYS_SECRET_KEY")})
    demo = subprocess.run([sys.executable, "-m", "config.cli", "demo"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    if BACKEND == "postgres":  # no demo accounts on a shared database: add them as staff
        assert demo.returncode == 2 and "only on the embedded default" in demo.stderr
        for email, role, area in (("lantinen@demo.yhteys.localhost", "counsellor", "lantinen"),
                                  ("lead@demo.yhteys.localhost", "lead", None)):
            added = subprocess.run([sys.executable, "-m", "config.cli", "staff", "add", email,
                                    "--name", email, "--role", role,
                                    *(["--area", area] if area else [])], env=env,
                                   cwd=tmp_path, capture_output=True, text=True, timeout=60)
            assert added.returncode == 0, added.stderr
    else:
        assert demo.returncode == 0, demo.stderr
    token = subprocess.run([sys.executable, "-m", "config.cli", "token", "create",
                            "lead@demo.yhteys.localhost"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=60).stdout.strip()
    proc = subprocess.Popen([sys.executable, "-m", "config.cli", "serve"], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{http_port}"
        await until_healthy(url, proc)
        async with aiohttp.ClientSession() as http:
            if BACKEND != "postgres":
                assert (tmp_path / "var" / "yhteys.db").exists()

            def send() -> None:
                m = mail("Vuokravelka, Kivihaantie 5, 00320 Helsinki")
                del m["To"]
                m["To"] = "asumisneuvonta@yhteys.localhost"
                with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
                    client.send_message(m)
            await asyncio.to_thread(send)
            deadline = time.monotonic() + 10
            items: list[dict] = []
            while time.monotonic() < deadline and not items:
                async with http.get(url + "/api/v1/contacts",
                                    headers={"Authorization": f"Bearer {token}"}) as r:
                    items = (await r.json())["items"]
                await asyncio.sleep(0.1)
            [contact] = items
            assert contact["area"] == "lantinen" and contact["case_id"]
            assert contact["assignee"]["email"] == "lantinen@demo.yhteys.localhost"
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0].decode()
    assert proc.returncode == 0, output
    assert "Traceback" not in output
