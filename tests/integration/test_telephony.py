"""The city's phone system → POST /api/v1/telephony/events → call logs, callbacks, pops."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from inbox.models import CallbackRequest, CallLog
from tests.conftest import Service
from tests.integration.phone_system import PhoneSystem
from tests.integration.test_chat_v2 import staff_socket
from tests.integration.test_phone import count

CALLER, CALLER_E164 = "040 123 4567", "+358401234567"
DESK = "1234"  # Irma's extension


def desk(service: Service, email: str, extension: str) -> None:
    from inbox.staff import set_desk_phone

    service.running.system.store.run(set_desk_phone, email, None, extension)


async def calls(service: Service, token: str) -> list[dict]:
    return (await service.get_json("/api/v1/calls", token))["items"]


async def callbacks(service: Service, token: str) -> list[dict]:
    return (await service.get_json("/api/v1/callbacks", token))["items"]


async def known_resident(service: Service) -> dict:
    """A resident of Itäinen with this number (they once asked for a callback)."""
    status, created = await service.post_json("/api/v1/callbacks", {
        "phone": CALLER, "postal_code": "00940", "language": "fi", "text": "Vuokravelka"})
    assert status == 201, created
    return created or {}


async def test_an_answered_call_is_one_log_with_its_times_and_the_answering_counsellor(
        service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    desk(service, "irma@hel.fi", DESK)
    phone = PhoneSystem(service)
    t0 = int(time.time()) - 100
    assert await phone.post("newCall", "c-1", CALLER, DESK, stamp=t0) == 200
    assert await phone.post("answer", "c-1", CALLER, DESK, answeringNumber=DESK,
                            stamp=t0 + 5) == 200
    assert await phone.post("hangup", "c-1", CALLER, DESK, cause="normalClearing",
                            stamp=t0 + 65, form=True) == 200
    [call] = await calls(service, lead)
    assert (call["call_id"], call["phone"], call["direction"]) == ("c-1", CALLER_E164, "in")
    assert call["duration_s"] == 60 and call["cause"] == "normalClearing"
    assert call["staff"] == "Irma Itäinen"
    assert call["answered_at"] and call["ended_at"]
    assert await count(service, CallbackRequest) == 0  # answered: nobody to call back


async def test_events_in_any_order_and_repeated_make_the_same_one_log(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    service.add_staff("irma@hel.fi", ["itainen"])
    desk(service, "irma@hel.fi", DESK)
    phone = PhoneSystem(service)
    t0 = int(time.time()) - 200
    events = [("hangup", {"cause": "normalClearing"}, 90), ("answer",
              {"answeringNumber": DESK}, 10), ("newCall", {}, 0)]
    for retry in range(10):  # each event ten times, a retry signed anew a second later
        for event, extra, offset in events:
            assert await phone.post(event, "c-2", CALLER, DESK, stamp=t0 + offset + retry,
                                    **extra) == 200, (event, retry)
    [call] = await calls(service, lead)
    assert call["duration_s"] == 80 and call["staff"] == "Irma"
    assert await count(service, CallLog) == 1
    assert await count(service, CallbackRequest) == 0


@pytest.mark.parametrize("cause", ["cancel", "noAnswer", "busy"])
async def test_a_missed_call_from_a_known_resident_becomes_a_callback_in_their_area(
        service: Service, cause: str):
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    await known_resident(service)
    [asked] = await callbacks(service, irma)
    _, _ = await service.post_json(f"/api/v1/callbacks/{asked['id']}/cancel", {}, irma,
                                   status=200)
    phone = PhoneSystem(service)
    await phone.missed_call(f"m-{cause}", CALLER, DESK, cause)
    [missed] = await callbacks(service, irma)
    assert (missed["source"], missed["area"], missed["phone"]) == (
        "missed_call", "itainen", CALLER_E164)
    contact = await service.get_json(f"/api/v1/contacts/{missed['contact_id']}", irma)
    assert contact["channel"] == "phone" and contact["case_id"] is not None
    # Within the dedupe time a second missed call adds no second request.
    await phone.missed_call(f"m2-{cause}", CALLER, DESK, cause)
    assert len(await callbacks(service, irma)) == 1
    assert await count(service, CallLog) == 2


async def test_a_missed_call_from_an_unknown_number_is_city_wide_for_anyone(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    ella = service.add_staff("ella@hel.fi", ["etelainen"])
    await PhoneSystem(service).missed_call("m-unknown", "050 765 4321", DESK)
    [for_irma] = await callbacks(service, irma)
    assert for_irma["area"] is None and for_irma["source"] == "missed_call"
    _, claimed = await service.post_json("/api/v1/callbacks/claim", {}, ella, status=200)
    assert claimed and claimed["id"] == for_irma["id"]


async def test_an_unanswered_outbound_call_or_a_hidden_number_makes_no_callback(
        service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    phone = PhoneSystem(service)
    for event, extra in (("newCall", {}), ("hangup", {"cause": "noAnswer"})):
        assert await phone.post(event, "out-1", DESK, CALLER, "out", **extra) == 200
    await phone.missed_call("anon-1", "anonymous", DESK)
    assert await count(service, CallbackRequest) == 0
    assert {c["call_id"] for c in await calls(service, lead)} == {"out-1", "anon-1"}


async def test_hangup_before_newcall_still_builds_the_call(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    phone = PhoneSystem(service)
    t0 = int(time.time()) - 50
    assert await phone.post("hangup", "c-3", CALLER, DESK, cause="cancel", stamp=t0 + 20) == 200
    assert await phone.post("newCall", "c-3", CALLER, DESK, stamp=t0) == 200
    [call] = await calls(service, lead)
    assert call["duration_s"] == 20 and call["answered_at"] is None
    assert len(await callbacks(service, lead)) == 1


async def test_unsigned_stale_forged_and_replayed_events_are_401_and_change_nothing(
        service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    phone = PhoneSystem(service)
    body = json.dumps({"event": "newCall", "callId": "x-1", "from": CALLER, "to": DESK,
                       "direction": "in"}).encode()
    assert await phone.raw(body, sign=False) == 401
    assert await phone.raw(body, stamp=int(time.time()) - 301) == 401
    assert await phone.raw(body, stamp=int(time.time()) + 301) == 401
    assert await phone.raw(body, signature_value="sha256=" + "0" * 64) == 401
    assert await PhoneSystem(service, "wrong-secret").raw(body) == 401
    assert await calls(service, lead) == []
    assert await phone.raw(body) == 200
    assert await phone.replay() == 401  # the very same signed request again
    [call] = await calls(service, lead)
    assert call["call_id"] == "x-1"


@pytest.mark.parametrize("body", [
    b"not json at all", b"[]", b'{"event": "ringing", "callId": "x"}',
    b'{"event": "newCall"}', b'{"event": "newCall", "callId": ""}',
    b'{"event": "newCall", "callId": "x", "direction": "sideways"}',
    b'{"event": "newCall", "callId": "x", "from": "' + b"1" * 50 + b'"}',
])
async def test_malformed_events_are_400_and_change_nothing(service: Service, body: bytes):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    assert await PhoneSystem(service).raw(body) == 400
    assert await calls(service, lead) == []


async def test_an_unknown_extension_logs_the_call_without_a_counsellor(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await PhoneSystem(service).answered_call("c-4", CALLER, "9999")
    [call] = await calls(service, lead)
    assert call["staff"] is None and call["duration_s"] is not None


async def test_screen_pop_reaches_the_counsellor_whose_phone_rings_and_no_one_else(
        service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    ilkka = service.add_staff("ilkka@hel.fi", ["itainen"])
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    desk(service, "irma@hel.fi", DESK)
    created = await known_resident(service)
    [asked] = await callbacks(service, irma)
    contact = await service.get_json(f"/api/v1/contacts/{asked['contact_id']}", irma)
    sockets = {name: await staff_socket(service, token)
               for name, token in (("irma", irma), ("ilkka", ilkka), ("lead", lead))}
    try:
        assert await PhoneSystem(service).post("newCall", "pop-1", CALLER, DESK) == 200
        seen = sockets["irma"][1]
        for _ in range(100):
            if any(e.get("type") == "call.ringing" for e in seen):
                break
            await asyncio.sleep(0.01)
        [pop] = [e for e in seen if e.get("type") == "call.ringing"]
        assert pop["known"] is True and pop["phone"] == CALLER_E164
        assert pop["case_id"] == contact["case_id"] and created["id"] == asked["id"]
        assert "only_staff" not in pop or pop["only_staff"]
        await PhoneSystem(service).post("newCall", "pop-2", "050 765 4321", DESK)
        for _ in range(100):
            if len([e for e in seen if e.get("type") == "call.ringing"]) == 2:
                break
            await asyncio.sleep(0.01)
        unknown = [e for e in seen if e.get("type") == "call.ringing"][-1]
        assert unknown["known"] is False and "name" not in unknown
        for other in ("ilkka", "lead"):
            assert not [e for e in sockets[other][1] if e.get("type") == "call.ringing"]
    finally:
        for client, _ in sockets.values():
            await client.disconnect()
