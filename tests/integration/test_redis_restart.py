"""Redis restarted under a running serve and worker (issue 10): while it is away a
resident's chat messages are still stored and acknowledged, mail is still stored before
its 250, and /healthz names Redis; once it is back the mail is routed within seconds (not
at the minute timer's sweep), the counsellor's inbox hears events again, and a reply
reaches the resident. Nothing is lost, nothing doubled."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from config.serve import start
from config.settings import Settings
from tests.conftest import Service, free_port
from tests.integration.chat_client import ChatResident
from tests.integration.test_chat_v2 import START, TUESDAY_10, staff_socket
from tests.integration.test_email import mail, send
from tests.integration.test_health import health
from tests.integration.test_rooms import until

pytestmark = pytest.mark.shared  # a fault test: once, on the PostgreSQL run


class OwnRedis:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(500):
            done = subprocess.run(["redis-cli", "-p", str(self.port), "ping"],
                                  capture_output=True, text=True)
            if done.stdout.strip() == "PONG":
                return
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # as a crash: nothing saved, every connection cut
        self.proc.wait(10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    redis = OwnRedis(tmp_path)
    redis.start()
    yield redis
    if redis.proc is not None and redis.proc.poll() is None:
        redis.stop()


@contextlib.asynccontextmanager
async def own_shape(service: Service, own_redis: OwnRedis, tmp_path: Path
                    ) -> AsyncIterator[Service]:
    """A serve (in this process) and a worker on the test's database and a Redis of their
    own, which the test may kill and start again."""
    env = {**service.env, "YHTEYS_REDIS_URL": own_redis.url,
           "YHTEYS_HTTP_PORT": str(free_port()), "YHTEYS_SMTP_PORT": str(free_port())}
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-m", "config.cli", "worker"], env=env,
                              stdout=log, stderr=log)
    settings = Settings.from_env(env)
    own = Service(await start(settings), settings, service.relay, service.http, env)
    own.running.system.clock.set(TUESDAY_10)
    try:
        queue = redis.Redis.from_url(own_redis.url)
        await until(lambda: worker.poll() is not None or queue.scard("rq:workers") > 0, 30)
        queue.close()
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
        yield own
    finally:
        await own.running.stop()
        worker.terminate()
        worker.wait(15)
        log.close()


async def test_a_redis_restart_loses_nothing_and_the_events_resume(
        service: Service, own_redis: OwnRedis, tmp_path: Path) -> None:
    async with own_shape(service, own_redis, tmp_path) as own:
        irma = own.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
        lead = own.add_staff("lead@hel.fi", [], role="lead")
        inbox, seen = await staff_socket(own, irma)
        resident = await ChatResident(own).connect()
        await resident.call("start", START)
        [chat] = await own.wait_contacts(irma, 1)

        own_redis.stop()
        during = await resident.call("message", {"client_id": "c-away", "text": "Oletko siellä?"})
        assert isinstance(during.get("id"), int)  # stored and acknowledged
        assert await send(own, mail("Vuokravelka, 00320 Helsinki",
                                    message_id="<redis-away@example.com>")) == {}
        status, body = await health(own)
        assert status == 503 and body["checks"]["redis"]["ok"] is False

        own_redis.start()
        found = await own.wait_contacts(lead, 2, timeout=30)  # routed by the worker
        assert sorted(c["channel"] for c in found) == ["chat", "email"]
        heard = len(seen)
        after = await resident.call("message", {"client_id": "c-back", "text": "Nyt toimii"})
        assert isinstance(after.get("id"), int)
        await until(lambda: len(seen) > heard, timeout=20)  # the inbox hears events again
        await own.post_json(f"/api/v1/contacts/{chat['id']}/replies", {"text": "Olen tässä"},
                            irma, status=201)
        await until(lambda: any(m["text"] == "Olen tässä" for m in resident.messages), 20)
        detail = await own.get_json(f"/api/v1/contacts/{chat['id']}", irma)
        texts = [m["text"] for m in detail["messages"]]
        assert texts.count("Oletko siellä?") == 1 and texts.count("Nyt toimii") == 1
        await resident.close()
        await inbox.disconnect()


async def test_under_load_a_redis_restart_loses_and_doubles_nothing(
        service: Service, own_redis: OwnRedis, tmp_path: Path) -> None:
    """Ten residents writing and mail arriving without pause while Redis is killed and
    started again: every message acknowledged is stored once, every mail that got its 250
    is routed once, and a counsellor's inbox hears events again."""
    async with own_shape(service, own_redis, tmp_path) as own:
        irma = own.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
        inbox, seen = await staff_socket(own, irma)
        residents = [await ChatResident(own).connect() for _ in range(10)]
        for n, resident in enumerate(residents):
            await resident.call("start", {**START, "text": f"Aloitus {n}"})
        stop, acked, mailed = asyncio.Event(), Counter[str](), []

        async def write(n: int, resident: ChatResident) -> None:
            i = 0
            while not stop.is_set():
                client_id = f"r{n}-{i}"
                ack = await resident.call("message", {"client_id": client_id,
                                                      "text": f"Viesti {client_id}"})
                if isinstance(ack.get("id"), int):
                    acked[client_id] += 1
                i += 1
                await asyncio.sleep(0.02)

        async def post() -> None:
            i = 0
            while not stop.is_set():
                message_id = f"<load-{i}@example.com>"
                refused = await send(own, mail(f"Vuokrarästi {i}, 00320 Helsinki",
                                               sender=f"Asukas {i} <asukas{i}@example.com>",
                                               message_id=message_id),
                                     sender=f"asukas{i}@example.com")
                if refused == {}:
                    mailed.append(message_id)
                i += 1

        load = [asyncio.create_task(write(n, r)) for n, r in enumerate(residents)]
        load.append(asyncio.create_task(post()))
        await until(lambda: len(acked) >= 50 and len(mailed) >= 5, timeout=30)
        own_redis.stop()
        before = (len(acked), len(mailed))
        await until(lambda: len(acked) >= before[0] + 50 and len(mailed) >= before[1] + 5,
                    timeout=30)  # while Redis is away, chat and mail go on
        own_redis.start()
        at_restart = (len(acked), len(mailed))
        await until(lambda: len(acked) >= at_restart[0] + 50
                    and len(mailed) >= at_restart[1] + 5, timeout=30)
        stop.set()
        await asyncio.gather(*load)
        heard = len(seen)
        await residents[0].call("message", {"client_id": "last", "text": "Viimeinen"})
        await until(lambda: len(seen) > heard, timeout=20)  # the inbox hears events again
        store = own.running.system.store

        def contacts() -> int:
            with store.unit() as session:
                return int(session.scalar(text("SELECT count(*) FROM contacts")) or 0)

        await until(lambda: contacts() >= 10 + len(mailed), timeout=60)  # all routed
        with store.unit() as session:
            stored = Counter(client_id for (client_id,) in session.execute(text(
                "SELECT client_id FROM messages WHERE direction = 'in' "
                "AND client_id LIKE 'r%'")))
            routed = Counter(mid for (mid,) in session.execute(text(
                "SELECT channel_message_id FROM messages WHERE channel_message_id "
                "LIKE '<load-%'")))
        assert stored == acked  # each acknowledged message once, none unacknowledged
        assert routed == Counter(mailed) and contacts() == 10 + len(mailed)
        for resident in residents:
            await resident.close()
        await inbox.disconnect()
