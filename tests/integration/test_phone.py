"""Phone channel end to end: callback requests, the claim queue and logged calls over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import AccessLog, CallbackRequest, CallLog, Contact, Resident
from tests.conftest import BACKEND, Service

MOBILE = "040 123 4567"
MOBILE_E164 = "+358401234567"


async def ask_callback(service: Service, phone: Any = MOBILE, postal_code: Any = "00940",
                       text: str = "Vuokravelkaa on kertynyt", **extra: Any
                       ) -> tuple[int, dict | None]:
    body = {"phone": phone, "postal_code": postal_code, "language": "fi", "text": text,
            **extra}
    return await service.post_json("/api/v1/callbacks", {k: v for k, v in body.items()
                                                         if v is not None})


async def claim(service: Service, token: str) -> tuple[int, dict | None]:
    async with service.http.post(service.url + "/api/v1/callbacks/claim",
                                 headers=service.auth(token)) as r:
        if r.status == 204:
            assert await r.read() == b""
            return 204, None
        assert r.status == 200, await r.text()
        return 200, await r.json()


async def reached(service: Service, token: str, callback_id: int) -> None:
    """The call was made: the counsellor is free to claim the next one."""
    await service.post_json(f"/api/v1/callbacks/{callback_id}/attempts", {"result": "reached"},
                            token, status=201)


async def me(service: Service, token: str) -> int:
    return int((await service.get_json("/api/v1/me", token))["id"])


async def count(service: Service, model: type, *where: Any) -> int:
    def query(session: Session) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
    return await service.running.system.store.call(query)


async def assert_problem(response: aiohttp.ClientResponse, status: int) -> dict:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body = await response.json(content_type=None)
    assert body["status"] == status
    assert body["title"] and "type" in body and "detail" in body
    assert "Traceback" not in await response.text()
    return body


async def test_callback_lands_in_its_areas_queue_with_a_routed_contact(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    ella = service.add_staff("ella@hel.fi", ["etelainen"])
    status, created = await ask_callback(service, text="Vuokravelkaa kertynyt")
    assert status == 201, created
    assert created is not None and isinstance(created["id"], int)
    assert created["area"] == "itainen"

    [queued] = (await service.get_json("/api/v1/callbacks", irma))["items"]
    assert queued["id"] == created["id"]
    assert queued["phone"] == MOBILE_E164  # stored normalised, ready to dial
    assert queued["postal_code"] == "00940" and queued["area"] == "itainen"
    assert queued["state"] == "queued" and queued["claimed_by"] is None
    assert queued["text"] == "Vuokravelkaa kertynyt" and queued["language"] == "fi"
    assert queued["preferred_time"] is None and queued["waiting_s"] >= 0
    assert (await service.get_json("/api/v1/callbacks", ella))["items"] == []

    [contact] = await service.wait_contacts(irma, 1)
    assert contact["id"] == queued["contact_id"]
    assert contact["channel"] == "phone" and contact["area"] == "itainen"
    assert contact["case_id"] is not None
    assert contact["resident"]["phone"] == MOBILE_E164
    assert contact["reason"] == 2  # Vuokravelka
    assert "00940" in contact["routing"]["summary"]
    steps = {s["rule"]: s for s in contact["routing"]["steps"]}
    assert {"identify", "locate", "classify", "case", "assign"} <= set(steps)
    assert steps["locate"]["code"] == "locate.postal_given"
    assert steps["locate"]["params"]["postal_code"] == "00940"
    assert "00940" in steps["locate"]["text"]
    assert steps["assign"]["code"] == "assign.callback_queue"
    assert "soittopyyntöjono" in steps["assign"]["text"].lower()  # rendered in Finnish
    # The other area's counsellor sees neither the callback nor its contact.
    assert (await service.get_json("/api/v1/contacts?folder=all", ella))["items"] == []
    await service.get_json(f"/api/v1/contacts/{contact['id']}", ella, status=404)


@pytest.mark.parametrize("phone", ["abc", "123", "", "040 123", 401234567, None])
async def test_invalid_phone_is_refused_and_nothing_is_stored(service: Service, phone: Any):
    body = {"postal_code": "00940", "text": "Vuokravelka", "language": "fi"}
    if phone is not None:
        body["phone"] = phone
    async with service.http.post(service.url + "/api/v1/callbacks", json=body) as r:
        problem = await assert_problem(r, 400)
    assert "phone" in problem["title"].lower() or "phone" in problem["detail"].lower()
    assert await count(service, CallbackRequest) == 0
    assert await count(service, Contact) == 0
    assert await count(service, Resident) == 0


@pytest.mark.parametrize("postal_code", [None, "", "0094", "009400", "00 94", "abcde", 940])
async def test_missing_or_malformed_postal_code_is_refused(service: Service, postal_code: Any):
    body = {"phone": MOBILE, "text": "Vuokravelka", "language": "fi"}
    if postal_code is not None:
        body["postal_code"] = postal_code
    async with service.http.post(service.url + "/api/v1/callbacks", json=body) as r:
        problem = await assert_problem(r, 400)
    assert "postal_code" in problem["detail"]
    assert await count(service, CallbackRequest) == 0
    assert await count(service, Contact) == 0


async def test_claim_gives_the_oldest_callback_of_my_areas_and_nothing_else(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    ella = service.add_staff("ella@hel.fi", ["etelainen"])
    _, south = await ask_callback(service, "050 765 4321", "00100")
    _, east_old = await ask_callback(service, MOBILE, "00940")
    _, east_new = await ask_callback(service, "044 555 1234", "00940")
    assert south and east_old and east_new
    irma_id = await me(service, irma)

    status, first = await claim(service, irma)
    assert status == 200 and first is not None
    assert first["id"] == east_old["id"]
    assert first["state"] == "claimed" and first["claimed_by"] == irma_id
    assert first["phone"] == MOBILE_E164 and first["attempts"] == 0
    assert (await claim(service, irma))[1] == first  # a double click: the same one
    await reached(service, irma, first["id"])
    status, second = await claim(service, irma)
    assert status == 200 and second is not None and second["id"] == east_new["id"]
    await reached(service, irma, second["id"])
    # Only Eteläinen's callback is left: not Irma's to take.
    assert await claim(service, irma) == (204, None)
    status, theirs = await claim(service, ella)
    assert status == 200 and theirs is not None and theirs["id"] == south["id"]

    # The claimed callback's contact is now Irma's.
    contact = await service.get_json(f"/api/v1/contacts/{first['contact_id']}", irma)
    assert contact["assignee"]["email"] == "irma@hel.fi"
    assert (await service.get_json("/api/v1/callbacks", irma))["items"] == []  # both done


async def test_concurrent_claims_never_give_one_callback_to_two_counsellors(service: Service):
    """Five counsellors each double-click "claim next" at once: five requests, one each."""
    emails = [f"c{n}@hel.fi" for n in range(5)]
    tokens = {e: service.add_staff(e, ["itainen", "kaakkoinen"]) for e in emails}
    ids = {email: await me(service, token) for email, token in tokens.items()}
    phones = ["040 123 4567", "050 765 4321", "044 555 1234", "045 111 2222", "041 987 6543",
              "046 123 9876", "040 555 0101"]
    created = []
    for phone in phones:
        status, body = await ask_callback(service, phone, "00940")
        assert status == 201 and body is not None
        created.append(body["id"])

    claimers = [email for email in emails for _ in range(2)]  # each clicks twice
    results = await asyncio.gather(*(claim(service, tokens[e]) for e in claimers))
    assert all(s == 200 for s, _ in results)
    held: dict[str, set[int]] = {}
    for email, (_, body) in zip(claimers, results, strict=True):
        assert body is not None and body["claimed_by"] == ids[email]
        held.setdefault(email, set()).add(body["id"])
    assert all(len(ours) == 1 for ours in held.values()), held  # a double click: the same
    taken = [next(iter(ours)) for ours in held.values()]
    assert len(set(taken)) == 5 and set(taken) <= set(created)  # none to two people

    def rows(session: Session) -> list[tuple[int, str, int | None, int, int | None]]:
        query = (select(CallbackRequest.id, CallbackRequest.state, CallbackRequest.claimed_by,
                        CallbackRequest.attempts, Contact.assignee_id)
                 .join(Contact, Contact.id == CallbackRequest.contact_id))
        return [tuple(r) for r in session.execute(query)]  # type: ignore[misc]
    by_id = {next(iter(ours)): ids[email] for email, ours in held.items()}
    for cb_id, state, claimed_by, attempts, assignee in \
            await service.running.system.store.call(rows):
        if cb_id in by_id:
            assert state == "claimed" and attempts == 0
            assert claimed_by == by_id[cb_id] == assignee
        else:
            assert state == "queued" and claimed_by is None


async def test_claim_with_nothing_left_is_204(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    assert await claim(service, irma) == (204, None)
    await ask_callback(service)
    status, taken = await claim(service, irma)
    assert status == 200 and taken
    await reached(service, irma, taken["id"])
    assert await claim(service, irma) == (204, None)


async def test_urgent_topic_is_claimed_before_an_older_normal_one(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    _, normal = await ask_callback(service, MOBILE, text="Vuokranmaksu myöhässä")
    _, urgent = await ask_callback(service, "050 765 4321", text="häätö huomenna")
    assert normal and urgent
    listed = (await service.get_json("/api/v1/callbacks", irma))["items"]
    assert [c["id"] for c in listed] == [urgent["id"], normal["id"]]
    status, first = await claim(service, irma)
    assert status == 200 and first is not None
    assert first["id"] == urgent["id"] and first["priority"] > 0
    await reached(service, irma, first["id"])
    status, second = await claim(service, irma)
    assert status == 200 and second is not None and second["id"] == normal["id"]
    contact = await service.get_json(f"/api/v1/contacts/{first['contact_id']}", irma)
    assert contact["urgency"] == "urgent" and contact["reason"] == 12  # Häätö, tomorrow


async def test_logged_call_joins_the_residents_open_case(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    irma_id = await me(service, irma)
    status, created = await ask_callback(service, MOBILE, "00940")
    assert status == 201 and created
    [queued] = (await service.get_json("/api/v1/callbacks", irma))["items"]
    first = await service.get_json(f"/api/v1/contacts/{queued['contact_id']}", irma)
    assert first["resident"] is not None and first["case_id"] is not None

    status, call = await service.post_json(
        "/api/v1/calls", {"phone": MOBILE_E164, "direction": "out", "notes": "Soitin takaisin",
                          "started_at": "2026-03-02T10:15:00+02:00", "duration_s": 300}, irma)
    assert status == 201, call
    assert call is not None
    assert call["resident_id"] == first["resident"]["id"]
    assert call["case_id"] == first["case_id"]
    assert call["contact_id"] != first["id"]
    logged = await service.get_json(f"/api/v1/contacts/{call['contact_id']}", irma)
    assert logged["channel"] == "phone" and logged["area"] == "itainen"
    assert logged["assignee"]["email"] == "irma@hel.fi"
    assert logged["messages"][0]["text"] == "Soitin takaisin"

    def call_row(session: Session) -> CallLog | None:
        return session.get(CallLog, call["id"])
    row = await service.running.system.store.call(call_row)
    assert row is not None
    assert (row.phone, row.direction, row.duration_s, row.staff_id, row.resident_id) == (
        MOBILE_E164, "out", 300, irma_id, first["resident"]["id"])

    # Another number is another resident with a case of their own.
    status, other = await service.post_json(
        "/api/v1/calls", {"phone": "050 765 4321", "direction": "in", "notes": "Uusi"}, irma)
    assert status == 201 and other is not None
    assert other["resident_id"] not in (None, first["resident"]["id"])
    assert other["case_id"] not in (None, first["case_id"])


@pytest.mark.parametrize("body", [
    {"phone": MOBILE, "direction": "sideways", "notes": "x"},
    {"phone": "not a number", "direction": "in", "notes": "x"},
    {"phone": MOBILE, "direction": "in", "notes": "x", "duration_s": -5},
    {"phone": MOBILE, "direction": "in", "notes": "x", "started_at": "eilen"},
])
async def test_bad_call_log_is_400_and_nothing_stored(service: Service, body: dict):
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    async with service.http.post(service.url + "/api/v1/calls", json=body,
                                 headers=service.auth(irma)) as r:
        await assert_problem(r, 400)
    assert await count(service, CallLog) == 0
    assert await count(service, Contact) == 0


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/v1/callbacks/claim"), ("GET", "/api/v1/callbacks"),
    ("POST", "/api/v1/calls"),
])
async def test_staff_phone_endpoints_need_authentication(service: Service, method: str,
                                                         path: str):
    service.add_staff("irma@hel.fi", ["itainen"])
    await ask_callback(service)
    async with service.http.request(method, service.url + path,
                                    json={"phone": MOBILE, "direction": "in"}) as r:
        await assert_problem(r, 401)
    async with service.http.request(method, service.url + path,
                                    headers={"Authorization": "Bearer yht_forged"}) as r:
        await assert_problem(r, 401)
    assert await count(service, CallbackRequest, CallbackRequest.state == "queued") == 1
    assert await count(service, CallLog) == 0


async def test_eleventh_callback_request_in_a_minute_is_429(service: Service):
    for i in range(10):
        status, body = await ask_callback(service, text=f"Vuokravelka {i}")
        assert status == 201, (i, body)
    async with service.http.post(service.url + "/api/v1/callbacks", json={
            "phone": MOBILE, "postal_code": "00940", "text": "Vielä yksi"}) as r:
        await assert_problem(r, 429)
    assert await count(service, CallbackRequest) == 10
    assert await count(service, Contact) == 10


async def test_the_limit_is_counted_where_every_serve_sees_it(service: Service):
    """With Redis (production) the count is shared by every serve process and survives a
    restart; the embedded default (one process) counts in its memory, a restart forgets."""
    for i in range(10):
        status, body = await ask_callback(service, text=f"Vuokravelka {i}")
        assert status == 201, (i, body)
    await service.restart()
    status, _ = await ask_callback(service, text="Uudelleenkäynnistyksen jälkeen")
    assert status == (429 if BACKEND == "postgres" else 201)


async def test_reading_the_callback_queue_is_access_logged(service: Service):
    """The queue shows residents' phone numbers and topics: each read names who saw whom."""
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    irma_id = await me(service, irma)
    await ask_callback(service, MOBILE, "00940")
    await ask_callback(service, "050 765 4321", "00940")
    items = (await service.get_json("/api/v1/callbacks", irma))["items"]
    assert len(items) == 2

    def logged(session: Session) -> set[int | None]:
        return set(session.scalars(select(AccessLog.contact_id).where(
            AccessLog.staff_id == irma_id, AccessLog.action == "read")))
    assert await service.running.system.store.call(logged) == {c["contact_id"] for c in items}


async def test_rate_limit_counts_each_resident_behind_the_proxy_separately(service: Service):
    await service.restart(YHTEYS_TRUSTED_PROXIES="127.0.0.1")
    body = {"phone": "040 123 4567", "postal_code": "00940", "language": "fi", "text": "x"}

    async def ask(address: str) -> int:
        async with service.http.post(service.url + "/api/v1/callbacks", json=body,
                                     headers={"X-Forwarded-For": address}) as r:
            return r.status
    assert [await ask("203.0.113.5") for _ in range(10)] == [201] * 10
    assert await ask("203.0.113.5") == 429
    assert await ask("203.0.113.6") == 201  # another resident is not punished


async def test_without_trusted_proxies_a_forged_header_does_not_escape_the_limit(
        service: Service):
    body = {"phone": "040 123 4567", "postal_code": "00940", "language": "fi", "text": "x"}
    statuses = []
    for i in range(11):
        async with service.http.post(service.url + "/api/v1/callbacks", json=body,
                                     headers={"X-Forwarded-For": f"203.0.113.{i}"}) as r:
            statuses.append(r.status)
    assert statuses[-1] == 429
