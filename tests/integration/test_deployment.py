"""docker-compose.yml, proven without a Docker engine (issue 10): the same command lines
and environment as the compose file, run as local processes: two `serve`, two `worker`
and the proxy (Debian's nginx on deploy/nginx.conf.template), on a database and a Redis
of their own. Through the proxy a resident chats over a websocket, a counsellor answers
over another (most likely on the other serve), and mail to either serve's SMTP port is
routed by the workers and pushed to the counsellor; the pages' styles and chat client
come from the npm packages where the Dockerfile puts them."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import string
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import redis
import yaml

from tests.conftest import ROOT, Service, free_port, until_healthy
from tests.integration.chat_client import ChatResident
from tests.integration.test_chat_v2 import START, staff_socket
from tests.integration.test_email import mail, send

pytestmark = pytest.mark.shared
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
YHTEYS = ("serve-a", "serve-b", "worker")


@dataclass
class Shape:
    """The compose file's processes, and where the proxy and each serve's SMTP listen."""

    url: str
    smtp_ports: list[int]
    env: dict[str, str]
    folder: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
                         for p in sorted(self.folder.glob("*.log")))


def _database(base_url: str, name: str) -> str:
    """A database of this test's own on the test PostgreSQL (the session's worker and the
    other tests' resets never touch it)."""
    plain = base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return base_url.rsplit("/", 1)[0] + "/" + name


def yhteys_env(service: Service, proxy_url: str, var: Path) -> dict[str, str]:
    """The compose file's environment with this machine's addresses: every variable it
    sets must have its counterpart here, so the file cannot grow one this test ignores."""
    ours = {
        "YHTEYS_DATABASE_URL": _database(service.env["YHTEYS_DATABASE_URL"], "yhteys_shape"),
        "YHTEYS_REDIS_URL": service.env["YHTEYS_REDIS_URL"].rsplit("/", 1)[0] + "/11",
        "YHTEYS_SECRET_KEY": "deployment-test-secret",
        "YHTEYS_SERVICE_ADDRESS": service.env["YHTEYS_SERVICE_ADDRESS"],
        "YHTEYS_SMTP_RELAY": service.env["YHTEYS_SMTP_RELAY"],
        "YHTEYS_ALLOWED_ORIGINS": proxy_url,
        "YHTEYS_WIDGET_ORIGINS": "https://www.hel.fi",
        "YHTEYS_PUBLIC_URL": proxy_url,
        "YHTEYS_TRUSTED_PROXIES": "127.0.0.1",
    }
    redis.Redis.from_url(ours["YHTEYS_REDIS_URL"]).flushdb()  # no jobs of a test before
    compose = COMPOSE["x-yhteys"]["environment"]
    assert set(compose) == set(ours), f"compose sets {set(compose) ^ set(ours)}: say it here"
    return {**os.environ, **ours, "YHTEYS_VAR_DIR": str(var), "YHTEYS_COOKIE_SECURE": "0",
            "YHTEYS_HTTP_HOST": "127.0.0.1", "YHTEYS_SMTP_HOST": "127.0.0.1",
            "YHTEYS_EMAIL_RECEIPTS": "0", "YHTEYS_RETRY_DELAYS": "0.3,0.3",
            "YHTEYS_SECURE_REPLIES": "0"}


def _proxy_config(tmp: Path, serves: list[int], listen: int) -> Path:
    """The template filled in as the nginx image's entrypoint does (envsubst of the
    variables its compose environment defines), with this machine's addresses."""
    defined = dict(COMPOSE["services"]["proxy"]["environment"])
    assert set(defined) >= {"YHTEYS_SERVE_A", "YHTEYS_SERVE_B", "YHTEYS_PROXY_LISTEN"}
    defined.update(YHTEYS_SERVE_A=f"127.0.0.1:{serves[0]}",
                   YHTEYS_SERVE_B=f"127.0.0.1:{serves[1]}",
                   YHTEYS_PROXY_LISTEN=f"127.0.0.1:{listen}", NGINX_PID=str(tmp / "nginx.pid"))
    [volume] = COMPOSE["services"]["proxy"]["volumes"]
    template = ROOT / volume.split(":")[0]
    conf = tmp / "nginx.conf"
    conf.write_text(string.Template(template.read_text()).safe_substitute(defined))
    return conf


def _command(service: str) -> list[str]:
    command = COMPOSE["services"][service]["command"]
    assert command[0] == "yhteys"  # the console script pip installs
    return [str(Path(sys.executable).with_name("yhteys")), *command[1:]]


@pytest.fixture
async def shape(service: Service, tmp_path: Path) -> AsyncIterator[Shape]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    listen = free_port()
    url = f"http://127.0.0.1:{listen}"
    env = yhteys_env(service, url, tmp_path)
    http_ports, smtp_ports = [free_port(), free_port()], [free_port(), free_port()]
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = []

    def run(name: str, argv: list[str], extra: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        logs.append(log)
        procs[name] = subprocess.Popen(argv, env={**env, **extra}, stdout=log, stderr=log)
        return procs[name]

    try:
        for i, name in enumerate(("serve-a", "serve-b")):
            run(name, _command(name), {"YHTEYS_HTTP_PORT": str(http_ports[i]),
                                       "YHTEYS_SMTP_PORT": str(smtp_ports[i])})
        for i in range(COMPOSE["services"]["worker"]["deploy"]["replicas"]):
            run(f"worker-{i + 1}", _command("worker"), {})
        for i in range(2):
            await until_healthy(f"http://127.0.0.1:{http_ports[i]}", None, timeout=60)
        run("proxy", [nginx, "-e", "stderr", "-p", str(tmp_path), "-c",
                      str(_proxy_config(tmp_path, http_ports, listen)), "-g", "daemon off;"],
            {})
        await until_healthy(url, None, timeout=20)
        yield Shape(url, smtp_ports, env, tmp_path, procs)
    finally:
        for proc in procs.values():
            proc.terminate()
        for name, proc in procs.items():
            try:
                await asyncio.to_thread(proc.wait, 15)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise AssertionError(f"{name} did not stop on SIGTERM within 15 s") from None
        for log in logs:
            log.close()


@dataclass
class ThroughProxy(Service):
    """Service's helpers, pointed at the proxy (HTTP, websockets) and one serve's SMTP."""

    proxy_url: str = ""
    smtp: int = 0

    @property
    def url(self) -> str:
        return self.proxy_url

    @property
    def smtp_port(self) -> int:
        return self.smtp


def operator(env: dict[str, str], *argv: str) -> str:
    """What an operator runs in a container: `yhteys ...` with the compose environment."""
    done = subprocess.run([str(Path(sys.executable).with_name("yhteys")), *argv], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def test_the_compose_shape_works_end_to_end_through_the_proxy(
        service: Service, shape: Shape) -> None:
    env = shape.env
    tokens = {}
    for email, name, extra in (("irma@hel.fi", "Irma Itäinen", ["--area", "itainen"]),
                               ("lead@hel.fi", "Liisa Lead", ["--role", "lead"])):
        operator(env, "staff", "add", email, "--name", name, *extra)
        tokens[email] = operator(env, "token", "create", email, "--name", "test").split()[-1]
    irma, lead = tokens["irma@hel.fi"], tokens["lead@hel.fi"]
    through = ThroughProxy(service.running, service.settings, service.relay, service.http,
                           env, proxy_url=shape.url, smtp=shape.smtp_ports[0])
    assets = set()
    for path in ("/login", "/chat"):
        async with service.http.get(shape.url + path) as page:
            assert page.status == 200, shape.logs()
            assets |= set(re.findall(r'"(/vendor/[^"]+)"', await page.text()))
    assert {a.split("/")[2] for a in assets} == {"hds", "sio"}
    for path in sorted(assets):
        async with service.http.get(shape.url + path) as r:
            assert r.status == 200, path  # npm's packages, served by the serves
    async with service.http.get(shape.url + "/metrics") as r:
        assert r.status == 404  # Prometheus scrapes the serves inside the network
    inbox, seen = await staff_socket(through, lead)  # a lead's inbox: every area
    resident = await ChatResident(through).connect()
    await resident.call("start", START)
    [chat] = await through.wait_contacts(irma, 1)
    await through.post_json(f"/api/v1/contacts/{chat['id']}/replies", {"text": "Hej!"},
                            irma, status=201)
    [reply] = await resident.wait(resident.messages, 1)
    assert reply["text"] == "Hej!"
    for port in shape.smtp_ports:  # the border MTA may hand mail to either serve
        through.smtp = port
        await send(through, mail("Vuokravelka, 00320 Helsinki",
                                 message_id=f"<shape-{port}@example.com>"))
    found = await through.wait_contacts(lead, 3, timeout=30)
    mails = [c for c in found if c["channel"] == "email"]
    assert len(mails) == 2 and {c["area"] for c in mails} == {"lantinen"}, shape.logs()
    for _ in range(500):  # routed by a worker; pushed through Redis to the lead's serve
        pushed = {e["contact_id"] for e in seen if e.get("type") == "contact.created"}
        if pushed >= {c["id"] for c in found}:
            break
        await asyncio.sleep(0.02)
    assert pushed >= {c["id"] for c in found}, seen
    await resident.close()
    await inbox.disconnect()


def test_the_image_serves_the_front_end_packages_where_the_dockerfile_puts_them() -> None:
    """The image runs the code from site-packages, where no node_modules lies beside it:
    the serve is told where they are (and refuses to start without them)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY --from=assets /app/node_modules node_modules" in dockerfile
    assert "WORKDIR /app" in dockerfile
    assert "YHTEYS_ASSETS_DIR=/app/node_modules" in dockerfile
