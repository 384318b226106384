"""Real parts for every test: a database (PostgreSQL or SQLite), Redis + an rq worker
subprocess on the PostgreSQL run, the service itself on free loopback ports, and a bare
SMTP relay that records what the service sends.

YHTEYS_TEST_BACKEND=postgres uses YHTEYS_TEST_PG_URL and YHTEYS_TEST_REDIS_URL (started by
scripts/test.sh); anything else runs the embedded default: SQLite, in-process jobs.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import aiohttp
import pyotp
import pytest
import redis
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from config.serve import Running, start
from config.settings import Settings
from inbox.db import make_engine, migrate
from inbox.models import Base
from inbox.staff import add_staff, create_token
from inbox.totp import set_secret

BACKEND = os.environ.get("YHTEYS_TEST_BACKEND", "sqlite")
ROOT = Path(__file__).resolve().parent.parent
E2E = ROOT / "tests" / "e2e"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of the production shape (marked `shared`: several processes sharing PostgreSQL
    and Redis) have nothing to test in the embedded default: not collected there. With
    YHTEYS_TEST_BROWSERS=<backend> (scripts/test.sh's whole run sets postgres) the browser
    tests run on that backend's run only: they test the pages, whose server side the
    integration tests check on both, and took 6 of the SQLite run's 15 minutes."""
    dropped = [item for item in items if _not_on_this_run(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not _not_on_this_run(item)]


def _not_on_this_run(item: pytest.Item) -> bool:
    if BACKEND != "postgres" and item.get_closest_marker("shared"):
        return True
    browsers = os.environ.get("YHTEYS_TEST_BROWSERS")
    return bool(browsers) and browsers != BACKEND and item.path.is_relative_to(E2E)


def totp_secret(email: str) -> str:
    """The TOTP secret `Service.add_staff` enrols for a staff member: known to the tests'
    login helpers (as an authenticator app knows it), different for every email."""
    return base64.b32encode(hashlib.sha256(email.encode()).digest()[:20]).decode()


_used_steps: dict[tuple[str, str], int] = {}


async def totp_code(site: str, email: str) -> str:
    """The code an authenticator app shows now, never one this site took already: the
    service refuses a code's second use, so a second login in the same 30 s takes the
    next step's code (accepted one step early), a third waits for the next step."""
    while True:
        now = int(time.time() // 30)
        used = _used_steps.get((site, email), -1)
        step = next((s for s in (now, now + 1) if s > used), None)
        if step is not None:
            _used_steps[(site, email)] = step
            return pyotp.TOTP(totp_secret(email)).at(step * 30)
        await asyncio.sleep(30 - time.time() % 30 + 0.05)


def last_code(site: str, email: str) -> str:
    """The code `totp_code` handed out last for this site and staff member: the one a
    replay sends again."""
    return pyotp.TOTP(totp_secret(email)).at(_used_steps[(site, email)] * 30)


HIDDEN_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


async def second_factor(http: aiohttp.ClientSession, site: str, email: str,
                        answer: aiohttp.ClientResponse) -> aiohttp.ClientResponse:
    """After the password was accepted (`answer`: 303 to /login/code), enter the current
    code as the staff member would; returns the answer to the code (303 to the page asked
    for, with the session cookie). Any other answer is returned as it is."""
    location = answer.headers.get("Location", "")
    if answer.status != 303 or not location.startswith("/login/code"):
        return answer
    async with http.get(site + location) as r:
        found = HIDDEN_CSRF_FIELD.search(await r.text())
        assert r.status == 200 and found, "the code page carries its CSRF field"
    form = {"csrf_token": found.group(1), "code": await totp_code(site, email)}
    async with http.post(site + location, data=form, allow_redirects=False) as r:
        await r.read()
        return r


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until_healthy(url: str, proc: subprocess.Popen[bytes] | None = None,
                        timeout: float = 30) -> None:
    """Until a serve process answers /healthz with 200 (its start runs the migrations);
    if it exits first, fail with the end of what it said."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError((err or out or b"").decode()[-3000:])
            try:
                async with http.get(url + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"serve did not answer /healthz within {timeout:g} s")


def peer_loop() -> asyncio.AbstractEventLoop:
    """The event loop of a server that stands for someone else's (a relay, in its own
    thread), out of asyncio's debug mode: the mode's thread check is for our code, and it
    would turn the garbage collector finalising one of that server's streams from the
    test's thread into an "exception ignored" that fails whichever test is running."""
    loop = asyncio.new_event_loop()
    loop.set_debug(False)
    return loop


class Relay:
    """A bare aiosmtpd server standing in for the city's outbound mail relay."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.return_paths: list[str] = []  # the envelope MAIL FROM of each, in order
        self.reject: str | None = None  # an SMTP reply to give instead of accepting
        self.delay = 0.0  # seconds before answering DATA (a slow relay)
        self.receiving = 0  # DATA sessions begun (a test can act while one is under way)
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     loop=peer_loop())

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.receiving += 1
        if self.reject:
            return self.reject
        if self.delay:
            await asyncio.sleep(self.delay)
        data = envelope.original_content  # type: ignore[attr-defined]
        self.return_paths.append(envelope.mail_from)  # type: ignore[attr-defined]
        self.messages.append(message_from_bytes(data, policy=default_policy))  # type: ignore[arg-type]
        return "250 2.0.0 OK"

    def wait_for(self, count: int, timeout: float = 15) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"relay got {len(self.messages)} of {count} mails"
        return self.messages


@pytest.fixture(scope="session")
def relay() -> Iterator[Relay]:
    r = Relay()
    r.controller.start()
    yield r
    r.controller.stop()


def _env(tmp: Path, relay: Relay, database_url: str | None) -> dict[str, str]:
    env = {
        "YHTEYS_VAR_DIR": str(tmp),
        "YHTEYS_HTTP_HOST": "127.0.0.1",
        "YHTEYS_HTTP_PORT": "0",
        "YHTEYS_SMTP_HOST": "127.0.0.1",
        "YHTEYS_SMTP_PORT": "0",
        "YHTEYS_SMTP_RELAY": f"127.0.0.1:{relay.port}",
        "YHTEYS_SERVICE_ADDRESS": "asumisneuvonta@yhteys.test",
        "YHTEYS_SECRET_KEY": "test-secret-key",
        "YHTEYS_COOKIE_SECURE": "0",
        "YHTEYS_SMTP_MAX_BYTES": str(256 * 1024),
        "YHTEYS_RETRY_DELAYS": "0.3,0.3",
        "YHTEYS_EMAIL_RECEIPTS": "0",  # on in tests/integration/test_email_receipts.py
        "YHTEYS_TRUSTED_AUTHSERV_IDS": "mx.test.hel.fi",  # the border MTA of the tests
        "YHTEYS_TELEPHONY_SECRET": "test-telephony-secret",  # tests/integration/phone_system.py
    }
    if BACKEND == "postgres":
        env["YHTEYS_DATABASE_URL"] = os.environ["YHTEYS_TEST_PG_URL"]
        env["YHTEYS_REDIS_URL"] = os.environ["YHTEYS_TEST_REDIS_URL"]
    elif database_url:
        env["YHTEYS_DATABASE_URL"] = database_url
    return env


@pytest.fixture(scope="session")
def base_env(tmp_path_factory: pytest.TempPathFactory, relay: Relay) -> dict[str, str]:
    return _env(tmp_path_factory.mktemp("var"), relay, None)


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """On the SQLite run: one database migrated to head, which each test copies. Running the
    migrations took about half a second of every test's start; they still run on each start
    and find nothing to do. A start on an empty file is what test_cli.py and the tests that
    run `yhteys serve` as a process see."""
    if BACKEND == "postgres":
        return None
    path = tmp_path_factory.mktemp("schema") / "yhteys.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def worker(base_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[subprocess.Popen[bytes] | None]:
    """On the PostgreSQL run: one real `yhteys worker` process for the whole session."""
    if BACKEND != "postgres":
        yield None
        return
    import redis

    redis.Redis.from_url(base_env["YHTEYS_REDIS_URL"]).flushdb()
    env = {**os.environ, **base_env}
    subprocess.run([sys.executable, "-m", "config.cli", "migrate"], env=env, check=True,
                   capture_output=True)
    # Its log goes to a file: a pipe nobody reads fills up and then blocks the worker.
    log = (tmp_path_factory.mktemp("worker") / "worker.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "config.cli", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=log)
    yield proc
    log.close()
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def forget_shared_counts(url: str) -> None:
    """The shared rate limits and live-chat counts live in Redis, which the tests share:
    each test starts with none counted, as each starts with an empty database."""
    client = redis.Redis.from_url(url)
    try:
        keys = [key for pattern in ("LIMITS:*", "yhteys:chat:*")
                for key in client.scan_iter(match=pattern, count=1000)]
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def reset_database(url: str) -> None:
    """Empty every table (the schema stays) so each test starts from nothing.

    Ids keep counting: the shared worker may still hold a job from the test before (a
    scheduled retry), and with restarted ids it would act on this test's rows.
    """
    engine = create_engine(url)
    for attempt in range(5):  # a job of the test before may still hold a row: deadlock
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
                    exists = conn.execute(text("SELECT to_regclass('public.areas')")).scalar()
                    if exists:
                        conn.execute(text(f"TRUNCATE {names} CASCADE"))
            break
        except OperationalError:
            if attempt == 4:
                raise
    engine.dispose()


@dataclass
class Service:
    """The running service and a few ways to talk to it as staff or residents."""

    running: Running
    settings: Settings
    relay: Relay
    http: aiohttp.ClientSession
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    async def restart(self, **overrides: str) -> None:
        """Stop and start again on the same database, with some settings changed."""
        await self.running.stop()
        self.env.update(overrides)
        self.settings = Settings.from_env(self.env)
        self.running = await start(self.settings)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.running.http_port}"

    @property
    def smtp_port(self) -> int:
        return self.running.smtp_port

    def add_staff(self, email: str, areas: list[str], role: str = "counsellor",
                  password: str | None = "correct horse battery", name: str | None = None,
                  languages: list[str] | None = None, second_factor: bool = True) -> str:
        """Adds a staff member and returns a bearer token for them (90 days). Their second
        factor is enrolled with `totp_secret(email)` unless `second_factor=False`."""
        store = self.running.system.store
        store.run(add_staff, email, name or email.split("@")[0].title(), areas, role, password,
                  languages)
        if second_factor:
            store.run(set_secret, email, totp_secret(email))
        token = store.run(create_token, email, "tests")
        self.tokens[email] = token
        return token

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def get_json(self, path: str, token: str, status: int = 200) -> dict:
        async with self.http.get(self.url + path, headers=self.auth(token)) as r:
            assert r.status == status, await r.text()
            return await r.json()

    async def post_json(self, path: str, body: object, token: str | None = None,
                        status: int | None = None) -> tuple[int, dict | None]:
        headers = self.auth(token) if token else {}
        async with self.http.post(self.url + path, json=body, headers=headers) as r:
            data = await r.json() if r.content_type.endswith("json") else None
            if status is not None:
                assert r.status == status, data
            return r.status, data

    async def wait_detail(self, contact_id: int, token: str, until: Callable[[dict], bool],
                          timeout: float = 15) -> dict:
        """The contact's detail once `until` holds, or the last one seen (the test asserts)."""
        deadline = time.monotonic() + timeout
        while True:
            detail = await self.get_json(f"/api/v1/contacts/{contact_id}", token)
            if until(detail) or time.monotonic() > deadline:
                return detail
            await asyncio.sleep(0.05)

    async def wait_contacts(self, token: str, count: int, timeout: float = 15) -> list[dict]:
        deadline = time.monotonic() + timeout
        items: list[dict] = []
        while time.monotonic() < deadline:
            items = (await self.get_json("/api/v1/contacts?folder=all", token))["items"]
            if len(items) >= count:
                return items
            await asyncio.sleep(0.1)
        raise AssertionError(f"saw {len(items)} of {count} contacts")


@pytest.fixture
async def service(tmp_path: Path, relay: Relay, base_env: dict[str, str],
                  worker: object, sqlite_schema: Path | None) -> AsyncIterator[Service]:
    env = dict(base_env)
    if sqlite_schema is None:
        reset_database(env["YHTEYS_DATABASE_URL"])
        forget_shared_counts(env["YHTEYS_REDIS_URL"])
    else:
        shutil.copyfile(sqlite_schema, tmp_path / "yhteys.db")
        env["YHTEYS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'yhteys.db'}"
    relay.messages.clear()
    relay.return_paths.clear()
    relay.reject = None
    relay.delay = 0.0
    relay.receiving = 0
    for attempt in range(3):
        # A port found free may be taken (by any outgoing connection) before we bind it.
        env["YHTEYS_HTTP_PORT"], env["YHTEYS_SMTP_PORT"] = str(free_port()), str(free_port())
        settings = Settings.from_env(env)
        try:
            running = await start(settings)
            break
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or attempt == 2:
                raise
    async with aiohttp.ClientSession() as http:
        svc = Service(running, settings, relay, http, env)
        yield svc
    await svc.running.stop()  # the one running now: a test may have restarted it
