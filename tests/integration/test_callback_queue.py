"""The callback queue's rules, on the service's clock: windows, attempts, waits, expiry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from inbox.hours import HELSINKI
from tests.conftest import Service

WEDNESDAY_10 = datetime(2026, 12, 2, 10, 0, tzinfo=HELSINKI)  # open Mon–Fri 9–15


@pytest.fixture
async def at_ten(service: Service) -> Service:
    service.running.system.clock.set(WEDNESDAY_10)
    return service


def advance(service: Service, **delta: float) -> None:
    clock = service.running.system.clock
    clock.set(clock.now() + timedelta(**delta))


async def ask(service: Service, phone: str = "040 123 4567", **extra: Any) -> dict:
    status, body = await service.post_json("/api/v1/callbacks", {
        "phone": phone, "postal_code": "00940", "language": "fi", **extra})
    assert status == 201, body
    return body or {}


async def claim(service: Service, token: str) -> dict | None:
    status, body = await service.post_json("/api/v1/callbacks/claim", {}, token)
    assert status in (200, 204), body
    return body if status == 200 else None


async def attempt(service: Service, token: str, callback_id: int, result: str,
                  status: int = 201) -> dict:
    got, body = await service.post_json(f"/api/v1/callbacks/{callback_id}/attempts",
                                        {"result": result, "notes": "soitin"}, token)
    assert got == status, body
    return body or {}


async def test_windows_come_from_the_areas_opening_hours_in_the_readers_language(
        at_ten: Service):
    service = at_ten
    async with service.http.get(service.url + "/api/v1/callbacks/windows",
                                params={"postal_code": "00940", "lang": "sv"}) as r:
        body = await r.json()
    assert body["open_now"] is True
    first = body["windows"][0]
    assert first["from"] == "2026-12-02T09:00:00+02:00"  # the slot now running
    assert first["label"] == "onsdag 2 december kl. 9.00–11.00"
    days = {w["from"][:10] for w in body["windows"]}
    assert "2026-12-05" not in days and "2026-12-06" not in days  # weekend, Independence Day
    assert len(days) == 5


async def test_the_answer_says_when_to_expect_the_call(at_ten: Service):
    service = at_ten
    body = await ask(service, preferred_time={"from": "2026-12-03T13:00:00+02:00",
                                              "to": "2026-12-03T15:00:00+02:00"})
    assert body["message"] == ("Soitamme sinulle numeroon 040 1234567 – ajankohta: "
                               "torstai 3.12. klo 13.00–15.00.")
    async with service.http.post(service.url + "/api/v1/callbacks?lang=en", json={
            "phone": "+46 70 123 45 67", "no_fixed_address": True, "language": "en"}) as r:
        english = await r.json()
    assert r.status == 201 and english["area"] is None
    assert english["message"] == ("We will call you at +46 70 123 45 67 as soon as we can, "
                                  "today during opening hours.")


@pytest.mark.parametrize(("window", "code"), [
    ({"from": "2026-12-01T09:00:00+02:00", "to": "2026-12-01T11:00:00+02:00"},
     "preferred_time.past"),
    ({"from": "2026-12-02T16:00:00+02:00", "to": "2026-12-02T17:00:00+02:00"},
     "preferred_time.closed"),
    ({"from": "2026-12-05T10:00:00+02:00", "to": "2026-12-05T11:00:00+02:00"},
     "preferred_time.closed"),
    ({"from": "2026-12-02T12:00:00+02:00", "to": "2026-12-02T11:00:00+02:00"},
     "preferred_time.invalid"),
    ({"from": "tomorrow", "to": "later"}, "preferred_time.invalid"),
    ("aamupäivä", "preferred_time.invalid"),
])
async def test_a_window_in_the_past_or_outside_opening_hours_is_refused(
        at_ten: Service, window: Any, code: str):
    service = at_ten
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    status, body = await service.post_json("/api/v1/callbacks", {
        "phone": "040 123 4567", "postal_code": "00940", "preferred_time": window})
    assert status == 400 and body is not None
    assert (body["code"], body["field"]) == (code, "preferred_time")
    assert (await service.get_json("/api/v1/callbacks", lead))["items"] == []


@pytest.mark.parametrize(("phone", "code"), [
    ("0", "phone.too_short"), ("1" * 50, "phone.too_long"), ("46701234567",
     "phone.foreign_needs_plus"), ("soita minulle", "phone.invalid"), ("", "phone.required")])
async def test_a_bad_number_says_what_was_wrong(service: Service, phone: str, code: str):
    status, body = await service.post_json("/api/v1/callbacks", {
        "phone": phone, "postal_code": "00940"})
    assert status == 400 and body is not None
    assert (body["code"], body["field"]) == (code, "phone")


async def test_claim_waits_for_the_window_and_gives_priority_then_age(at_ten: Service):
    service = at_ten
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    later = await ask(service, "050 765 4321", preferred_time={
        "from": "2026-12-02T13:00:00+02:00", "to": "2026-12-02T15:00:00+02:00"})
    advance(service, minutes=1)
    old = await ask(service, "044 555 1234")
    advance(service, minutes=1)
    urgent = await ask(service, "045 111 2222", text="häätö ensi viikolla")
    order = []
    while (taken := await claim(service, irma)) is not None:
        order.append(taken["id"])
        await attempt(service, irma, taken["id"], "reached")
    assert order == [urgent["id"], old["id"]]  # the 13–15 window is not open yet
    advance(service, hours=3)
    assert (await claim(service, irma) or {}).get("id") == later["id"]


async def test_no_answer_waits_two_hours_and_the_third_makes_it_failed_for_the_lead(
        at_ten: Service):
    service = at_ten
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    asked = await ask(service)
    for n in (1, 2):
        taken = await claim(service, irma)
        assert taken and taken["id"] == asked["id"]
        back = await attempt(service, irma, asked["id"], "no_answer")
        assert (back["state"], back["attempts"], back["claimable"]) == ("queued", n, False)
        assert await claim(service, irma) is None  # not before two hours
        advance(service, minutes=119)
        assert await claim(service, irma) is None
        advance(service, minutes=1)
    assert await claim(service, irma)
    failed = await attempt(service, irma, asked["id"], "no_answer")
    assert (failed["state"], failed["attempts"]) == ("failed", 3)
    assert (await service.get_json("/api/v1/callbacks", irma))["items"] == []
    [shown] = (await service.get_json("/api/v1/callbacks", lead))["items"]
    assert shown["state"] == "failed"
    assert [h["result"] for h in shown["history"]] == ["no_answer"] * 3
    assert all(h["by"] == "Irma" and h["notes"] == "soitin" for h in shown["history"])


async def test_reached_ends_it_and_wrong_number_fails_it(at_ten: Service):
    service = at_ten
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    first, second = await ask(service), await ask(service, "050 765 4321")
    await claim(service, irma)
    done = await attempt(service, irma, first["id"], "reached")
    assert done["state"] == "done" and done["attempts"] == 1
    contact = await service.get_json(f"/api/v1/contacts/{done['contact_id']}", irma)
    assert contact["status"] == "answered"
    await claim(service, irma)
    wrong = await attempt(service, irma, second["id"], "wrong_number")
    assert wrong["state"] == "failed"
    await attempt(service, irma, second["id"], "maybe", status=400)


async def test_an_unresolved_claim_returns_to_the_queue_after_30_minutes(at_ten: Service):
    service = at_ten
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    ilkka = service.add_staff("ilkka@hel.fi", ["itainen"])
    asked = await ask(service)
    assert await claim(service, irma)
    advance(service, minutes=29)
    assert await claim(service, ilkka) is None
    advance(service, minutes=1, seconds=1)
    taken = await claim(service, ilkka)
    assert taken and taken["id"] == asked["id"] and taken["holder"] == "Ilkka"
    await attempt(service, irma, asked["id"], "reached", status=409)  # not hers any more


async def test_another_areas_request_cannot_be_claimed_or_tried(at_ten: Service):
    service = at_ten
    ella = service.add_staff("ella@hel.fi", ["etelainen"])
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    asked = await ask(service)
    status, _ = await service.post_json(f"/api/v1/callbacks/{asked['id']}/claim", {}, ella)
    assert status == 404
    await attempt(service, ella, asked["id"], "reached", status=404)
    status, taken = await service.post_json(f"/api/v1/callbacks/{asked['id']}/claim", {},
                                            irma)
    assert status == 200 and taken
    again = await service.post_json(f"/api/v1/callbacks/{asked['id']}/claim", {}, irma)
    assert again[0] == 200  # a double click: still hers, nothing else changes
    ilkka = service.add_staff("ilkka@hel.fi", ["itainen"])
    assert (await service.post_json(f"/api/v1/callbacks/{asked['id']}/claim", {},
                                    ilkka))[0] == 409
    await attempt(service, ilkka, asked["id"], "reached", status=409)


async def test_a_typed_number_of_a_known_resident_is_only_a_possible_match(at_ten: Service):
    service = at_ten
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    first = await ask(service)
    [row] = (await service.get_json("/api/v1/callbacks", irma))["items"]
    known = await service.get_json(f"/api/v1/contacts/{row['contact_id']}", irma)
    await service.post_json(f"/api/v1/callbacks/{first['id']}/cancel", {}, irma, status=200)
    await ask(service, text="Sama numero, joku muu?")
    rows = (await service.get_json("/api/v1/callbacks", irma))["items"]
    [second] = [r for r in rows if r["id"] != first["id"]]
    contact = await service.get_json(f"/api/v1/contacts/{second['contact_id']}", irma)
    assert contact["resident_id"] is None and contact["case_id"] is None
    assert contact["possible_match"] == {"visible": True,
                                         "resident_id": known["resident_id"],
                                         "name": None, "case_id": known["case_id"]}
    assert contact["routing"]["steps"][0]["code"] == "identify.possible_match"
    _, linked = await service.post_json(f"/api/v1/contacts/{contact['id']}/possible-match",
                                        {"action": "confirm"}, irma, status=200)
    assert linked == {"contact_id": contact["id"], "resident_id": known["resident_id"],
                      "case_id": known["case_id"]}
    status, _ = await service.post_json(f"/api/v1/contacts/{contact['id']}/possible-match",
                                        {"action": "reject"}, irma)
    assert status == 409  # resolved already


async def test_rejecting_a_possible_match_gives_the_request_its_own_resident(at_ten: Service):
    service = at_ten
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    first = await ask(service)
    await service.post_json(f"/api/v1/callbacks/{first['id']}/cancel", {}, irma, status=200)
    await ask(service)
    contacts = (await service.get_json("/api/v1/contacts?folder=all", irma))["items"]
    newest = max(contacts, key=lambda c: c["id"])
    oldest = min(contacts, key=lambda c: c["id"])
    _, own = await service.post_json(f"/api/v1/contacts/{newest['id']}/possible-match",
                                     {"action": "reject"}, irma, status=200)
    assert own and own["resident_id"] not in (None, oldest["resident_id"])
    assert own["case_id"] not in (None, oldest["case_id"])
