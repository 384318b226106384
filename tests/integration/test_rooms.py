"""Two serve processes behave as one inbox (issue 10): socket.io rooms are shared through
Redis, so a counsellor on serve A answers a resident connected to serve B, and what a
worker routes reaches counsellors on every serve; a counsellor sees a resident on the other
serve come and go; a queue moved on one serve is told to residents on the other, and each
change once. A serve that stops leaves no Redis connection of its rooms behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis

from config.rooms import CLIENT_NAME
from config.serve import start
from config.settings import Settings
from tests.conftest import Service
from tests.integration.chat_client import ChatResident
from tests.integration.test_chat_v2 import START, TUESDAY_10, contacts, staff_socket
from tests.integration.test_email import mail, send

pytestmark = pytest.mark.shared


async def another_serve(service: Service) -> Service:
    """A second serve on the same database and Redis, as docker-compose runs two."""
    env = {**service.env, "YHTEYS_HTTP_PORT": "0", "YHTEYS_SMTP_PORT": "0",
           "YHTEYS_ALLOWED_ORIGINS": service.url}  # one public address for both
    settings = Settings.from_env(env)
    return Service(await start(settings), settings, service.relay, service.http, env)


@pytest.fixture
async def serve_b(service: Service) -> AsyncIterator[Service]:
    other = await another_serve(service)
    yield other
    await other.running.stop()


def rooms_connections(service: Service) -> int:
    client = redis.Redis.from_url(service.env["YHTEYS_REDIS_URL"])
    try:
        return sum(1 for c in client.client_list() if c.get("name") == CLIENT_NAME)
    finally:
        client.close()


async def until(test: Any, timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.02)):
        if test():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("did not happen in time")


async def test_a_counsellor_on_one_serve_answers_a_resident_on_the_other(
        service: Service, serve_b: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    inbox, seen = await staff_socket(service, irma)  # Irma's browser is on serve A
    resident = await ChatResident(serve_b, origin=service.url).connect()  # on serve B
    await resident.call("start", {"postal_code": "00940", "language": "fi",
                                  "text": "Vuokra on maksamatta", "name": "Aino"})
    await until(lambda: any(e.get("type") == "contact.created" for e in seen))
    [contact] = await service.wait_contacts(irma, 1)
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                            {"text": "Hei Aino, katsotaan yhdessä."}, irma, status=201)
    [pushed] = await resident.wait(resident.messages, 1)
    assert pushed["text"] == "Hei Aino, katsotaan yhdessä."
    detail = await service.wait_detail(
        contact["id"], irma, lambda d: d["messages"][-1]["delivery"]["state"] == "sent")
    assert detail["messages"][-1]["delivery"]["state"] == "sent"
    await resident.close()
    await inbox.disconnect()


async def test_what_a_worker_routes_reaches_counsellors_on_every_serve(
        service: Service, serve_b: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    sockets = [await staff_socket(s, lead, service.url) for s in (service, serve_b)]
    await send(service, mail("Vuokravelka, 00320 Helsinki", message_id="<rooms@example.com>"))
    for _, seen in sockets:
        await until(lambda seen=seen: any(e.get("type") == "contact.created" for e in seen))
    for inbox, _ in sockets:
        await inbox.disconnect()


async def test_a_serve_that_stops_leaves_no_redis_connection_of_its_rooms(service: Service):
    """The first event before any socket.io client connects, then a client: python-socketio
    alone makes two Redis clients here and drops one still connected."""
    before = rooms_connections(service)
    other = await another_serve(service)
    lead = other.add_staff("lead@hel.fi", [], role="lead")
    assert other.running.sio is not None
    await other.running.sio.emit("event", {"type": "contact.updated", "contact_id": 0},
                                 room="all", namespace="/inbox")
    inbox, _ = await staff_socket(other, lead, service.url)
    await inbox.disconnect()
    await other.running.stop()
    await until(lambda: rooms_connections(service) == before, timeout=3)


async def test_a_counsellor_on_one_serve_sees_a_resident_on_the_other_come_and_go(
        service: Service, serve_b: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    inbox, seen = await staff_socket(service, irma)
    resident = await ChatResident(serve_b, origin=service.url).connect()
    await resident.call("start", START)
    [contact] = await contacts(service, irma)
    ask = {"contact_id": contact["id"]}
    assert await inbox.call("presence", ask, namespace="/inbox") == {"state": "online"}
    await resident.close()
    await until(lambda: any(e.get("type") == "chat.presence" and e.get("state") == "gone"
                            for e in seen))
    assert await inbox.call("presence", ask, namespace="/inbox") == {"state": "gone"}
    await inbox.disconnect()


async def test_a_queue_moved_on_one_serve_is_told_on_the_other_and_once(
        service: Service, serve_b: Service):
    for serve in (service, serve_b):
        serve.running.system.clock.set(TUESDAY_10)
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    first = await ChatResident(service).connect()
    second = await ChatResident(serve_b, origin=service.url).connect()
    one = await first.call("start", START)
    two = await second.call("start", {**START, "text": "Vuokra on rästissä"})
    assert (one["position"], two["position"]) == (1, 2)
    for serve in (service, serve_b):  # what each serve had to tell about the starts is told
        assert serve.running.board is not None
        await serve.running.board.refresh()
    older = next(c for c in await contacts(service, irma) if c["summary"] == START["text"])
    await service.post_json(f"/api/v1/contacts/{older['id']}/replies", {"text": "Hej!"},
                            irma, status=201)
    moved = await second.status_where(lambda s: s.get("position") == 1)  # told from A
    assert moved["state"] == "queued"
    await first.status_where(lambda s: s.get("event") == "joined")
    for serve in (service, serve_b):  # both recompute, as the minute tick makes them
        assert serve.running.board is not None
        await serve.running.board.refresh()
    await first.wait(first.messages, 1)
    assert [s.get("event") for s in first.statuses].count("joined") == 1, first.statuses
    assert [s.get("position") for s in second.statuses].count(1) == 1, second.statuses
    await first.close()
    await second.close()
