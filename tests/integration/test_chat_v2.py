"""Chat v2 over a real socket.io connection: status, queue, opening hours (with a clock the
test sets), end, transfer, typing and presence, and every bad input refused by code."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
import socketio

from inbox.chat import statuses
from inbox.hours import HELSINKI
from tests.conftest import Service
from tests.integration.chat_client import ChatResident

TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=HELSINKI)
SATURDAY_NOON = datetime(2026, 12, 5, 12, 0, tzinfo=HELSINKI)
START = {"postal_code": "00940", "language": "sv", "text": "Hyran är obetald"}


@pytest.fixture
def open_now(service: Service) -> Service:
    service.running.system.clock.set(TUESDAY_10)
    return service


async def staff_socket(service: Service, token: str, origin: str | None = None
                       ) -> tuple[socketio.AsyncClient, list[dict[str, Any]]]:
    """A counsellor's /inbox connection and the list of events it receives (`origin`: the
    page's, when it is not this serve's own)."""
    seen: list[dict[str, Any]] = []
    inbox = socketio.AsyncClient(reconnection=False)
    inbox.on("event", seen.append, namespace="/inbox")
    await inbox.connect(service.url, namespaces=["/inbox"], transports=["websocket"],
                        headers={"Origin": origin or service.url}, auth={"token": token},
                        wait_timeout=10)  # a loaded CI machine's loop may stall a second
    return inbox, seen


async def contacts(service: Service, token: str) -> list[dict[str, Any]]:
    return (await service.get_json("/api/v1/contacts?folder=all", token))["items"]


async def test_queue_positions_move_and_the_resident_is_told_who_joined(open_now: Service):
    service = open_now
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    first, second = await ChatResident(service).connect(), await ChatResident(service).connect()
    one = await first.call("start", START)
    two = await second.call("start", {**START, "text": "Vuokra on rästissä"})
    assert one["position"] == 1 and one["status"]["state"] == "queued"
    assert two["position"] == 2 and two["status"]["expected_wait_s"] == 600  # 2 x 300 s, 1 free
    assert one["seq"] == 1 and isinstance(one["id"], int)
    [older] = [c for c in await contacts(service, irma) if c["id"] and c["language"] == "sv"
               and c["summary"] == "Hyran är obetald"]
    assert older["language"] == "sv"
    await service.post_json(f"/api/v1/contacts/{older['id']}/replies", {"text": "Hej!"}, irma,
                            status=201)
    joined = await first.status_where(lambda s: s["state"] == "assigned")
    assert joined == {"state": "assigned", "counsellor": "Irma", "event": "joined"}
    moved = await second.status_where(lambda s: s.get("position") == 1)
    assert moved["state"] == "queued" and moved["expected_wait_s"] == 300
    [reply] = await first.wait(first.messages, 1)
    assert reply["name"] == "Irma" and reply["seq"] == 2 and reply["sender"] == "counsellor"
    # "Irma has joined", then her words (a queue update may come before both)
    before_words = first.events.index("message")
    assert joined in first.statuses[:before_words]
    await first.close()
    await second.close()


async def test_a_place_counted_for_one_chat_is_its_place_in_the_whole_queue(
        open_now: Service):
    """A start's ack counts its own place; the board lists every queue: the same places,
    in each area and in the city-wide pool, whatever ended or was joined before."""
    service = open_now
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    residents = [await ChatResident(service).connect() for _ in range(6)]
    starts = [{**START, "text": f"Itä {i}"} for i in range(3)] + [
        {"no_fixed_address": True, "language": "en", "text": f"Nowhere {i}"} for i in range(2)
    ] + [{"postal_code": "00250", "language": "fi", "text": "Töölö"}]
    acks = [await r.call("start", s) for r, s in zip(residents, starts, strict=True)]
    assert [a["position"] for a in acks] == [1, 2, 3, 1, 2, 1]
    await residents[0].call("end", {})  # the first of the east leaves, the second is joined
    [second] = [c for c in await contacts(service, irma) if c["summary"] == "Itä 1"]
    await service.post_json(f"/api/v1/contacts/{second['id']}/replies", {"text": "Hei"}, irma,
                            status=201)
    await residents[1].wait(residents[1].messages, 1)  # the reply has gone out
    await residents[2].status_where(lambda s: s.get("position") == 1)  # the queue moved
    ids = {a["conversation_id"] for a in acks}
    system = service.running.system
    with system.store.unit() as session:
        board = statuses(session, None, TUESDAY_10, system.reference.hours, 300)
        one_by_one = {i: statuses(session, {i}, TUESDAY_10, system.reference.hours, 300)[i]
                      for i in ids}
    assert {i: one_by_one[i] for i in board} == board
    assert [one_by_one[a["conversation_id"]].get("position") for a in acks] == [
        None, None, 1, 1, 2, 1]
    for resident in residents:
        await resident.close()


async def test_outside_opening_hours_the_message_is_kept_and_the_resident_told_when(
        service: Service):
    service.running.system.clock.set(SATURDAY_NOON)
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    resident = await ChatResident(service).connect()
    ack = await resident.call("start", START)
    assert ack["status"] == {"state": "offline", "opens_at": "2026-12-07T09:00:00+02:00"}
    [contact] = await contacts(service, irma)
    assert contact["area"] == "itainen" and contact["channel"] == "chat"
    async with service.http.get(service.url + "/api/v1/chat/availability",
                                params={"postal_code": "00940", "lang": "sv"}) as r:
        closed = await r.json()
    assert closed["open"] is False and closed["opens_at"] == "2026-12-07T09:00:00+02:00"
    assert "måndag 7.12. kl. 9.00" in closed["message"]
    # Monday morning: the clock moves on and the waiting resident hears it without asking.
    service.running.system.clock.set(datetime(2026, 12, 7, 9, 1, tzinfo=HELSINKI))
    service.running.board.poke()  # type: ignore[union-attr]  # what the minute tick does
    queued = await resident.status_where(lambda s: s["state"] == "queued")
    assert queued["position"] == 1
    await resident.close()


async def test_availability_counts_the_queue_and_speaks_the_language(open_now: Service):
    service = open_now
    service.add_staff("irma@hel.fi", ["itainen"])
    service.add_staff("iiro@hel.fi", ["itainen"])
    url = service.url + "/api/v1/chat/availability"
    async with service.http.get(url, params={"postal_code": "00940", "lang": "fi"}) as r:
        empty = await r.json()
    assert empty["open"] is True and empty["queue_length"] == 0 and empty["area"] == "itainen"
    assert empty["expected_wait_s"] == 300 and "5 minuuttia" in empty["message"]
    assert empty["closes_at"] == "2026-12-01T15:00:00+02:00"
    residents = [await ChatResident(service).connect() for _ in range(3)]
    for resident in residents:
        await resident.call("start", START)
    async with service.http.get(url, params={"postal_code": "00940", "lang": "en"}) as r:
        busy = await r.json()
    assert busy["queue_length"] == 3 and busy["expected_wait_s"] == 600  # 4th: 2 rounds of 2
    assert busy["message"] == "The chat is open. The expected wait is about 10 minutes."
    async with service.http.get(url, params={"postal_code": "02100"}) as r:  # Espoo
        elsewhere = await r.json()
    assert elsewhere["area"] is None and elsewhere["queue_length"] == 0
    for bad in ({"postal_code": "0094"}, {"lang": "de"}):
        async with service.http.get(url, params=bad) as r:
            assert r.status == 400 and (await r.json())["title"]
    for resident in residents:
        await resident.close()


@pytest.mark.parametrize("start", [
    {"no_fixed_address": True, "language": "en", "text": "I sleep at a friend's place"},
    {"postal_code": "02100", "language": "fi", "text": "Asun Espoossa"},
])
async def test_no_fixed_address_or_outside_helsinki_routes_city_wide_and_says_so(
        open_now: Service, start: dict[str, Any]):
    service = open_now
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    service.add_staff("irma@hel.fi", ["itainen"])
    resident = await ChatResident(service).connect()
    ack = await resident.call("start", start)
    assert ack["status"]["state"] == "queued" and ack["position"] == 1
    [contact] = await contacts(service, lead)
    assert contact["area"] is None and contact["assignee"] is None
    assert contact["routing"]["summary"].startswith("Koko kaupunki: ")
    assert any(s["rule"] == "locate" for s in contact["routing"]["steps"])
    await resident.close()


async def test_a_start_sent_twice_with_one_client_id_opens_one_chat(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    resident = await ChatResident(service).connect()
    body = {**START, "client_id": "start-7f3a", "topic": 2, "name": "Anna",
            "email": "Anna@Example.FI"}
    acks = await asyncio.gather(*(resident.call("start", body) for _ in range(3)))
    assert len({(a["conversation_id"], a["token"], a["id"]) for a in acks}) == 1, acks
    [contact] = await contacts(service, lead)
    assert contact["reason"] == 2  # the topic the resident chose
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    assert [m["text"] for m in detail["messages"]] == [START["text"]]
    assert detail["chat"]["email"] == "anna@example.fi"
    # The address is shown, never used to identify: it made no resident identifier.
    assert "email" not in (detail["resident"] or {})
    await resident.close()


@pytest.mark.parametrize(("payload", "code"), [
    ({"postal_code": "00940", "language": "fi"}, "text_required"),
    ({"postal_code": "00940", "language": "fi", "text": "   "}, "text_required"),
    ({"postal_code": "00940", "language": "fi", "text": "x" * 4001}, "text_too_long"),
    ({"postal_code": "00940", "language": "fi", "text": "Hei\x00"}, "unstorable_text"),
    ({"postal_code": "00940", "language": "fi", "text": "Hei \ud800"}, "unstorable_text"),
    ({"postal_code": "123", "language": "fi", "text": "Hei"}, "postal_code_invalid"),
    ({"language": "fi", "text": "Hei"}, "postal_code_required"),
    ({"postal_code": "00940", "language": "fi", "text": "Hei", "topic": 9}, "topic_unknown"),
    ({"postal_code": "00940", "language": "fi", "text": "Hei", "topic": "kaikki"},
     "topic_unknown"),
    ({"postal_code": "00940", "language": "de", "text": "Hallo"}, "language_unknown"),
    ({"postal_code": "00940", "text": "Hei", "name": "n" * 201}, "name_too_long"),
    ({"postal_code": "00940", "text": "Hei", "email": "ei osoite"}, "email_invalid"),
    ("not an object", "bad_request"),
])
async def test_bad_start_is_refused_by_code_and_stores_nothing(service: Service, payload: Any,
                                                               code: str):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    resident = await ChatResident(service).connect()
    ack = await resident.call("start", payload)
    assert ack["code"] == code and ack["error"], ack
    if code == "text_too_long":
        assert ack["params"] == {"max": 4000}
    assert await contacts(service, lead) == []
    await resident.close()


async def test_bad_messages_and_resumes_are_refused_by_code(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    resident = await ChatResident(service).connect()
    assert (await resident.call("message", {"client_id": "a", "text": "Hei"}))["code"] == \
        "no_conversation"
    started = await resident.call("start", START)
    for payload, code in (({"client_id": "a", "text": "nul\x00"}, "unstorable_text"),
                          ({"client_id": "b", "text": "\udfff"}, "unstorable_text"),
                          ({"text": "ei id:tä"}, "client_id_invalid"),
                          ({"client_id": "c", "text": "y" * 4001}, "text_too_long")):
        assert (await resident.call("message", payload))["code"] == code
    forged = await resident.call("resume", {"token": started["token"] + "x", "last_seen_id": 0})
    assert forged["code"] == "token_unknown"
    assert (await resident.call("resume", {"token": started["token"], "last_seen_id": -1})
            )["code"] == "bad_request"
    [contact] = await contacts(service, lead)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    assert [m["text"] for m in detail["messages"]] == [START["text"]]
    await resident.close()


async def test_the_resident_ends_the_chat_and_can_write_no_more(open_now: Service):
    service = open_now
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    resident = await ChatResident(service).connect()
    started = await resident.call("start", START)
    assert await resident.call("end") == {"ok": True}
    closed = await resident.status_where(lambda s: s["state"] == "closed")
    assert closed["event"] == "ended_by_resident"
    refused = await resident.call("message", {"client_id": "late", "text": "Vielä yksi"})
    assert refused["code"] == "ended"
    [contact] = await contacts(service, irma)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", irma)
    assert detail["chat"]["ended_by"] == "resident" and len(detail["messages"]) == 1
    again = await ChatResident(service).connect()  # the transcript can still be read
    resumed = await again.call("resume", {"token": started["token"], "last_seen_id": 0})
    assert resumed["ended"] is True and resumed["status"]["state"] == "closed"
    await again.wait(again.messages, 1)
    await resident.close()
    await again.close()


async def test_a_counsellor_closing_the_chat_tells_the_resident(open_now: Service):
    service = open_now
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    resident = await ChatResident(service).connect()
    await resident.call("start", START)
    [contact] = await contacts(service, irma)
    await service.post_json(f"/api/v1/contacts/{contact['id']}/close", {}, irma, status=200)
    closed = await resident.status_where(lambda s: s["state"] == "closed")
    assert closed["event"] == "ended_by_counsellor"
    assert (await resident.call("message", {"client_id": "x", "text": "Hei?"}))["code"] == \
        "ended"
    await resident.close()


async def test_transfer_moves_the_chat_records_why_and_tells_the_resident(open_now: Service):
    service = open_now
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    ella_token = service.add_staff("ella@hel.fi", ["etelainen"], name="Ella Eteläinen")
    ella = (await service.get_json("/api/v1/me", ella_token))["id"]
    inbox, seen = await staff_socket(service, ella_token)
    resident = await ChatResident(service).connect()
    await resident.call("start", START)
    [contact] = await contacts(service, irma)
    path = f"/api/v1/contacts/{contact['id']}/transfer"
    status, problem = await service.post_json(path, {"to_staff_id": ella, "note": "x"}, irma)
    assert status == 409 and problem and "itainen" in problem["detail"]  # choose the area too
    status, problem = await service.post_json(path, {"to_area": "etelainen", "note": " "},
                                              irma)
    assert status == 400
    _, moved = await service.post_json(
        path, {"to_staff_id": ella, "to_area": "etelainen", "note": "Asuu nyt Kalliossa"},
        irma, status=200)
    assert moved is not None
    assert moved["area"] == "etelainen" and moved["assignee"]["email"] == "ella@hel.fi"
    step = moved["routing"]["steps"][-1]
    assert step["rule"] == "transfer" and step["params"]["note"] == "Asuu nyt Kalliossa"
    assert "Irma Itäinen" in step["text"] and "Ella Eteläinen" in step["text"]
    told = await resident.status_where(lambda s: s.get("event") == "transferred")
    assert told["state"] == "queued"
    for _ in range(200):
        if any(e["contact_id"] == contact["id"] for e in seen):
            break
        await asyncio.sleep(0.02)
    assert any(e["contact_id"] == contact["id"] and e["assignee_id"] == ella for e in seen)
    await inbox.disconnect()
    await resident.close()


async def test_typing_and_presence_reach_the_other_side(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    inbox, seen = await staff_socket(service, irma)
    resident = await ChatResident(service).connect()
    await resident.call("start", START)
    [contact] = await contacts(service, irma)
    ask = {"contact_id": contact["id"]}
    assert await inbox.call("presence", ask, namespace="/inbox") == {"state": "online"}
    await resident.emit("typing")
    await inbox.emit("typing", ask, namespace="/inbox")
    [typing] = await resident.wait(resident.typing, 1)
    assert typing == {"name": "Irma"}
    await resident.close()
    for _ in range(200):
        kinds = [(e["type"], e.get("state")) for e in seen if e["contact_id"] == contact["id"]]
        if ("chat.presence", "gone") in kinds:
            break
        await asyncio.sleep(0.02)
    assert ("chat.typing", None) in kinds and ("chat.presence", "gone") in kinds, kinds
    assert await inbox.call("presence", ask, namespace="/inbox") == {"state": "gone"}
    await inbox.disconnect()


async def test_the_inbox_namespace_refuses_a_widget_host_origin(service: Service):
    await service.restart(YHTEYS_WIDGET_ORIGINS="https://www.hel.fi")
    token = service.add_staff("irma@hel.fi", ["itainen"])
    hijack = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await hijack.connect(service.url, namespaces=["/inbox"], transports=["websocket"],
                             headers={"Origin": "https://www.hel.fi"}, auth={"token": token})
    resident = await ChatResident(service, origin="https://www.hel.fi").connect()
    assert (await resident.call("start", START))["conversation_id"]
    await resident.close()
