"""A proxy that drops every websocket every 0.7 s (issue 10), between a resident and the
serve: the resident's client reconnects and resumes with the last message id it has, and
sends each message until it is acknowledged, under the same client_id. Nothing is lost
and nothing doubled: every message the resident sent is stored once, and every reply the
counsellor wrote reaches the resident, live or in a resume's replay (a reply that comes
both ways has one id, and the client shows it once)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from tests.conftest import Service, free_port
from tests.integration.test_chat_v2 import START, TUESDAY_10

pytestmark = pytest.mark.shared  # a fault test: once, on the PostgreSQL run
DROP_EVERY_S = 0.7


class DroppingProxy:
    """TCP both ways to the serve; every connection is cut every `every_s` seconds."""

    def __init__(self, upstream_port: int, every_s: float = DROP_EVERY_S) -> None:
        self.upstream_port, self.every_s = upstream_port, every_s
        self.port = free_port()
        self.writers: set[asyncio.StreamWriter] = set()
        self.drops = 0

    async def __aenter__(self) -> DroppingProxy:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.dropper = asyncio.create_task(self._drop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.dropper.cancel()
        self.server.close()
        self._cut()
        await self.server.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1",
                                                                 self.upstream_port)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        self.writers -= {writer, up_writer}

    def _cut(self) -> None:
        for writer in list(self.writers):
            writer.transport.abort()  # no goodbye: as a proxy restart or a lost network
        self.writers.clear()

    async def _drop(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            if self.writers:
                self.drops += 1
                self._cut()


class ResumingResident:
    """What the widget does (web/static/chat-client.js): reconnect, resume from the last
    id it holds, send each message until acknowledged under its client_id."""

    def __init__(self, url: str, origin: str) -> None:
        self.url, self.origin = url, origin
        self.client = socketio.AsyncClient(reconnection=True, reconnection_delay=0.05,
                                           reconnection_delay_max=0.3)
        self.token: str | None = None
        self.seen: dict[int, dict[str, Any]] = {}
        self.received: list[int] = []  # every counsellor message id, each time it came
        self._resumes: set[asyncio.Task[None]] = set()
        self.client.on("message", self._message, namespace="/chat")
        self.client.on("connect", self._connected, namespace="/chat")

    def _message(self, data: dict[str, Any]) -> None:
        if data.get("sender") == "counsellor":
            self.received.append(data["id"])
        self.seen[data["id"]] = data

    async def _connected(self) -> None:
        if self.token is not None:  # a reconnect: ask for what was missed
            task = asyncio.create_task(self._resume())
            self._resumes.add(task)
            task.add_done_callback(self._resumes.discard)

    async def _resume(self) -> None:
        with contextlib.suppress(Exception):  # dropped again: the next connect resumes
            await self.client.call("resume", {"token": self.token,
                                              "last_seen_id": max(self.seen, default=0)},
                                   namespace="/chat", timeout=2)

    async def connect(self) -> None:
        await self.client.connect(self.url, namespaces=["/chat"], transports=["websocket"],
                                  headers={"Origin": self.origin}, wait_timeout=10)

    async def until_acked(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        for _ in range(200):
            try:
                ack = await self.client.call(event, data, namespace="/chat", timeout=1)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError,
                    socketio.exceptions.DisconnectedError):
                await asyncio.sleep(0.05)
                continue
            if ack.get("code") == "no_conversation":  # reconnected, not yet resumed
                await self._resume()
                continue
            return ack
        raise AssertionError(f"{event} was never acknowledged")


@pytest.fixture
async def proxy(service: Service) -> AsyncIterator[DroppingProxy]:
    async with DroppingProxy(service.running.http_port) as running:
        yield running


async def test_a_proxy_dropping_websockets_loses_and_doubles_nothing(
        service: Service, proxy: DroppingProxy) -> None:
    service.running.system.clock.set(TUESDAY_10)
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    resident = ResumingResident(f"http://127.0.0.1:{proxy.port}", service.url)
    await resident.connect()
    started = await resident.until_acked("start", {**START, "client_id": "flaky-start"})
    resident.token = started["token"]
    [contact] = (await service.get_json("/api/v1/contacts?folder=all", irma))["items"]
    replies, n = [], 0
    while n < 12 or (proxy.drops < 3 and n < 100):  # at least 3 drops, however fast it runs
        ack = await resident.until_acked("message", {"client_id": f"m-{n}",
                                                     "text": f"Viesti {n}"})
        assert isinstance(ack.get("id"), int)
        if n % 2:
            _, reply = await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                                               {"text": f"Vastaus {n}"}, irma, status=201)
            assert reply is not None
            replies.append(reply["id"])
        n += 1
        await asyncio.sleep(0.1)
    for _ in range(300):  # the last replies may come with the next resume
        if set(replies) <= set(resident.received):
            break
        await resident._resume()
        await asyncio.sleep(0.1)
    assert proxy.drops >= 3, f"the proxy dropped only {proxy.drops} times"
    assert set(replies) <= set(resident.received)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", irma)
    texts = [m["text"] for m in detail["messages"]]
    assert [t for t in texts if t.startswith("Viesti")] == [f"Viesti {m}" for m in range(n)]
    assert sorted(t for t in texts if t.startswith("Vastaus")) == sorted(
        f"Vastaus {m}" for m in range(1, n, 2))
    await resident.client.disconnect()
