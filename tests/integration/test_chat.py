"""Chat end to end: a python-socketio client on /chat against the running service."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
import socketio

from tests.conftest import Service


class Resident:
    """A resident's chat client that records every message the server pushes."""

    def __init__(self, service: Service, origin: str | None = None):
        self.service = service
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: list[dict[str, Any]] = []
        self.origin = origin or service.url
        self.client.on("message", self._on_message, namespace="/chat")

    async def _on_message(self, data: dict[str, Any]) -> None:
        self.received.append(data)

    async def connect(self) -> None:
        await self.client.connect(self.service.url, namespaces=["/chat"],
                                  transports=["websocket"], headers={"Origin": self.origin})

    async def call(self, event: str, data: Any) -> dict[str, Any]:
        return await self.client.call(event, data, namespace="/chat", timeout=10)

    async def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        for _ in range(int(timeout / 0.05)):
            if len(self.received) >= count:
                return self.received
            await asyncio.sleep(0.05)
        raise AssertionError(f"got {len(self.received)} of {count} messages")

    async def close(self) -> None:
        await self.client.disconnect()


async def test_chat_reaches_area_counsellor_and_the_reply_comes_back_live(service: Service):
    token = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    service.add_staff("ella@hel.fi", ["etelainen"])
    resident = Resident(service)
    await resident.connect()
    ack = await resident.call("start", {"postal_code": "00940", "language": "fi",
                                        "text": "Vuokra on maksamatta", "name": "Aino"})
    assert set(ack) >= {"conversation_id", "token"}
    [contact] = await service.wait_contacts(token, 1)
    assert contact["channel"] == "chat"
    assert contact["area"] == "itainen"
    assert contact["assignee"]["email"] == "irma@hel.fi"
    assert contact["case_id"] is not None
    status, reply = await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                                            {"text": "Hei Aino, katsotaan yhdessä."}, token)
    assert status == 201
    [pushed] = await resident.wait_for(1)
    assert pushed["text"] == "Hei Aino, katsotaan yhdessä."
    assert pushed["sender"] == "counsellor" and pushed["id"] == reply["id"]
    detail = await service.wait_detail(
        contact["id"], token, lambda d: d["messages"][-1]["delivery"]["state"] == "sent")
    assert detail["messages"][-1]["delivery"]["state"] == "sent"
    await resident.close()


async def test_repeated_client_id_stores_one_message(service: Service):
    token = service.add_staff("irma@hel.fi", ["itainen"])
    resident = Resident(service)
    await resident.connect()
    await resident.call("start", {"postal_code": "00940", "language": "fi", "text": "Hei"})
    first = await resident.call("message", {"client_id": "c-1", "text": "Toinen viesti"})
    again = await resident.call("message", {"client_id": "c-1", "text": "Toinen viesti"})
    assert first == again and isinstance(first["id"], int)
    [contact] = await service.wait_contacts(token, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
    assert [m["text"] for m in detail["messages"]] == ["Hei", "Toinen viesti"]
    await resident.close()


async def test_messages_arriving_during_a_commit_share_the_next_and_are_acked_after_it(
        service: Service, monkeypatch: pytest.MonkeyPatch):
    """Group commit: while one message's commit is held, others arrive (one a resend of
    another, one into a chat that has just ended); they are written together in the next
    commit, none acked before it; the resend stores nothing twice, the ended chat nothing."""
    from channels.chat.writes import ChatWrites

    token = service.add_staff("irma@hel.fi", ["itainen"])
    residents = [Resident(service) for _ in range(4)]
    for n, resident in enumerate(residents):
        await resident.connect()
        await resident.call("start", {"postal_code": "00940", "language": "fi",
                                      "text": f"Aloitus {n}"})
    await residents[3].call("end", {})
    held, release, sizes = threading.Event(), threading.Event(), []
    writer: list[ChatWrites] = []
    real = ChatWrites.commit

    def held_commit(self: ChatWrites, items: list[Any]) -> list[Any]:
        if not sizes:
            writer.append(self)
            held.set()
            release.wait(10)
        sizes.append(len(items))
        return real(self, items)

    monkeypatch.setattr(ChatWrites, "commit", held_commit)
    acked: list[float] = []

    async def send(resident: Resident, client_id: str, text: str) -> dict[str, Any]:
        ack = await resident.call("message", {"client_id": client_id, "text": text})
        acked.append(time.monotonic())
        return ack

    first = asyncio.create_task(send(residents[0], "a-1", "Ensimmäinen"))
    assert await asyncio.to_thread(held.wait, 10)
    later = [asyncio.create_task(send(r, c, t)) for r, c, t in (
        (residents[1], "b-1", "Toinen"), (residents[2], "c-1", "Kolmas"),
        (residents[2], "c-1", "Kolmas"), (residents[3], "d-1", "Loppuneeseen"))]
    for _ in range(500):  # until all four wait for the held commit
        if len(writer[0].waiting) == 4:
            break
        await asyncio.sleep(0.01)
    assert len(writer[0].waiting) == 4 and acked == []  # waiting, unanswered
    released_at = time.monotonic()
    release.set()
    acks = [await first] + [await t for t in later]
    assert sizes == [1, 4] and min(acked) >= released_at
    assert acks[2] == acks[3] and isinstance(acks[2]["id"], int)  # the resend: one message
    assert acks[4]["code"] == "ended"
    texts = []
    for contact in await service.wait_contacts(token, 4):
        detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
        texts += [m["text"] for m in detail["messages"]]
    assert sorted(texts) == sorted([f"Aloitus {n}" for n in range(4)]
                           + ["Ensimmäinen", "Toinen", "Kolmas"])
    for resident in residents:
        await resident.close()


@pytest.mark.parametrize("payload, words", [
    ({"language": "fi", "text": "Hei"}, "postal_code"),
    ({"postal_code": "abc", "language": "fi", "text": "Hei"}, "postal_code"),
    ({"postal_code": "00940", "language": "fi", "text": "   "}, "text"),
    ({"postal_code": "00940", "language": "de", "text": "Hallo"}, "language"),
    ("not an object", "start takes"),
])
async def test_bad_start_gets_an_error_ack_and_stores_nothing(service: Service, payload: Any,
                                                              words: str):
    token = service.add_staff("lead@hel.fi", [], role="lead")
    resident = Resident(service)
    await resident.connect()
    ack = await resident.call("start", payload)
    assert words in ack["error"]
    assert (await service.get_json("/api/v1/contacts?folder=all", token))["items"] == []
    await resident.close()


async def test_message_before_start_is_refused(service: Service):
    resident = Resident(service)
    await resident.connect()
    ack = await resident.call("message", {"client_id": "x", "text": "Hei"})
    assert "start or resume" in ack["error"]
    await resident.close()


async def test_dropped_connection_resumes_and_gets_what_it_missed(service: Service):
    token = service.add_staff("irma@hel.fi", ["itainen"])
    first = Resident(service)
    await first.connect()
    started = await first.call("start", {"postal_code": "00940", "language": "fi",
                                         "text": "Häätö uhkaa"})
    await first.close()  # the resident's connection drops
    [contact] = await service.wait_contacts(token, 1)
    assert contact["urgency"] == "high"
    _, answer = await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                                        {"text": "Soitan heti."}, token)
    again = Resident(service)
    await again.connect()
    ack = await again.call("resume", {"token": started["token"], "last_seen_id": started["id"]})
    assert ack["conversation_id"] == started["conversation_id"] and ack["ended"] is False
    assert ack["status"] == {"state": "assigned", "counsellor": "Irma"}  # she answered
    [missed] = await again.wait_for(1)
    assert missed["id"] == answer["id"] and missed["text"] == "Soitan heti."
    bad = await again.call("resume", {"token": "not-a-token", "last_seen_id": 0})
    assert "unknown" in bad["error"]
    await again.close()


async def test_other_origins_cannot_open_the_chat(service: Service):
    resident = Resident(service, origin="https://evil.example")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await resident.connect()


async def test_inbox_namespace_refuses_anonymous_and_pushes_to_the_area(service: Service):
    token = service.add_staff("irma@hel.fi", ["itainen"])
    other = service.add_staff("ella@hel.fi", ["etelainen"])
    anonymous = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await anonymous.connect(service.url, namespaces=["/inbox"], transports=["websocket"],
                                headers={"Origin": service.url})
    seen: dict[str, list[dict[str, Any]]] = {"irma": [], "ella": []}
    clients = []
    for name, tok in (("irma", token), ("ella", other)):
        client = socketio.AsyncClient(reconnection=False)
        client.on("event", seen[name].append, namespace="/inbox")
        await client.connect(service.url, namespaces=["/inbox"], transports=["websocket"],
                             headers={"Origin": service.url}, auth={"token": tok})
        clients.append(client)
    resident = Resident(service)
    await resident.connect()
    await resident.call("start", {"postal_code": "00940", "language": "fi", "text": "Hei"})
    for _ in range(100):
        if seen["irma"]:
            break
        await asyncio.sleep(0.05)
    assert seen["irma"][0]["type"] == "contact.created"
    assert seen["irma"][0]["area"] == "itainen"
    assert seen["ella"] == []
    for client in clients:
        await client.disconnect()
    await resident.close()


async def test_a_flooding_client_is_slowed_down_without_losing_what_was_acked(service: Service):
    token = service.add_staff("irma@hel.fi", ["itainen"])
    resident = Resident(service)
    await resident.connect()
    await resident.call("start", {"postal_code": "00940", "language": "fi", "text": "Hei"})
    acks = [await resident.call("message", {"client_id": f"c{i}", "text": f"viesti {i}"})
            for i in range(40)]
    stored = [a for a in acks if "id" in a]
    refused = [a for a in acks if "error" in a]
    assert len(stored) == 29 and len(refused) == 11  # 30 a minute, the start included
    assert "too many" in refused[0]["error"]
    [contact] = await service.wait_contacts(token, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
    assert len(detail["messages"]) == 30
    await resident.close()


async def test_the_same_message_sent_at_once_from_two_tabs_is_stored_once(service: Service):
    token = service.add_staff("irma@hel.fi", ["itainen"])
    resident = Resident(service)
    await resident.connect()
    await resident.call("start", {"postal_code": "00940", "language": "fi", "text": "Hei"})
    acks = await asyncio.gather(*(
        resident.call("message", {"client_id": "same", "text": "Tuplaklikkaus"})
        for _ in range(4)))
    assert len({a["id"] for a in acks}) == 1, acks
    [contact] = await service.wait_contacts(token, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
    assert [m["text"] for m in detail["messages"]] == ["Hei", "Tuplaklikkaus"]
    await resident.close()
