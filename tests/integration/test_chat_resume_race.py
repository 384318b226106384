"""The resume race of issue 5: counsellor replies committed around a resident's own message,
with the resident's connection dropping at any moment. A client that resumes from the
highest id up to which it holds *every* message (contiguous seq) loses nothing; the server
keeps ids and seqs of a conversation in commit order so that rule is sound."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from tests.conftest import Service
from tests.integration.chat_client import ChatResident

RESIDENTS = 25
ROUNDS = 4


def watermark(held: dict[int, dict[str, Any]]) -> int:
    """The client's rule: the id of the highest seq S such that seqs 1..S are all held."""
    by_seq = {m["seq"]: m["id"] for m in held.values()}
    seq, last_id = 0, 0
    while seq + 1 in by_seq:
        seq += 1
        last_id = by_seq[seq]
    return last_id


async def one_resident(service: Service, lead: str, n: int, rng: random.Random
                       ) -> tuple[int, dict[int, dict[str, Any]]]:
    resident = await ChatResident(service).connect()
    start = await resident.call("start", {"postal_code": "00940", "language": "fi",
                                          "text": f"Aloitus {n}", "client_id": f"s{n}"})
    held: dict[int, dict[str, Any]] = {start["id"]: {"id": start["id"], "seq": start["seq"]}}
    contact_id = None
    while contact_id is None:
        items = (await service.get_json("/api/v1/contacts?folder=all", lead))["items"]
        contact_id = next((c["id"] for c in items if c["summary"] == f"Aloitus {n}"), None)
    drop_after = rng.randrange(ROUNDS * 2)
    connected, ops = True, 0

    async def reply(i: int) -> None:
        await service.post_json(f"/api/v1/contacts/{contact_id}/replies",
                                {"text": f"Vastaus {n}.{i}"}, lead, status=201)

    for i in range(ROUNDS):
        tasks = [asyncio.ensure_future(reply(i))]
        if connected:
            ack = await resident.call("message", {"client_id": f"m{n}.{i}",
                                                  "text": f"Viesti {n}.{i}"})
            held[ack["id"]] = {"id": ack["id"], "seq": ack["seq"]}
        await asyncio.gather(*tasks)
        ops += 1
        if connected and ops > drop_after:
            for m in resident.messages:  # what reached this connection before it dropped
                held[m["id"]] = m
            await resident.close()
            connected = False
    if connected:
        await asyncio.sleep(0)  # the last emits may still be on the wire: take what came
        for m in resident.messages:
            held[m["id"]] = m
        await resident.close()
    again = await ChatResident(service).connect()
    ack = await again.call("resume", {"token": start["token"], "last_seen_id": watermark(held)})
    assert ack["conversation_id"] == start["conversation_id"]
    detail = await service.get_json(f"/api/v1/contacts/{contact_id}", lead)
    expected = {m["id"] for m in detail["messages"]}
    missing = expected - set(held)
    for _ in range(500):
        if missing <= {m["id"] for m in again.messages}:
            break
        await asyncio.sleep(0.02)
    for m in again.messages:
        held[m["id"]] = m
    await again.close()
    return contact_id, held


async def test_no_reply_is_lost_across_drops_and_resumes(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead", name="Liisa Lead")
    rng = random.Random(5)
    results = await asyncio.gather(*(one_resident(service, lead, n, rng)
                                     for n in range(RESIDENTS)))
    for contact_id, held in results:
        detail = await service.get_json(f"/api/v1/contacts/{contact_id}", lead)
        stored = detail["messages"]
        assert sum(m["direction"] == "out" for m in stored) == ROUNDS
        # ids and seqs grow together, with no gaps: the property the client's rule needs
        assert [m["seq"] for m in sorted(stored, key=lambda m: m["id"])] == \
            list(range(1, len(stored) + 1))
        assert {m["id"] for m in stored} == set(held), f"contact {contact_id} lost messages"
