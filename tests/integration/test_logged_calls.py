"""Calls a counsellor logs by hand never reveal or merge another area's resident."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import CallLog, ResidentIdentifier
from tests.conftest import Service
from tests.integration.test_email import mail, send
from tests.integration.test_phone import count

HETU = "131052-308T"


async def itainen_resident(service: Service, lead: str) -> dict:
    """Hanna of Itäinen, known by her email and identity code."""
    await send(service, mail(f"Vuokra on rästissä, 00940 Helsinki. Hetu {HETU}",
                             sender="Hanna Itä <hanna@example.com>"),
               sender="hanna@example.com")
    [contact] = await service.wait_contacts(lead, 1)
    assert contact["area"] == "itainen" and contact["resident_id"]
    return contact


def phones_of(service: Service, resident_id: int) -> list[str]:
    def query(session: Session) -> list[str]:
        return list(session.scalars(select(ResidentIdentifier.value).where(
            ResidentIdentifier.resident_id == resident_id, ResidentIdentifier.kind == "phone")))
    return service.running.system.store.run(query)


async def test_an_identity_code_in_the_notes_does_not_link_or_reveal_another_areas_resident(
        service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    hanna = await itainen_resident(service, lead)
    status, call = await service.post_json("/api/v1/calls", {
        "phone": "050 765 4321", "direction": "in",
        "notes": f"Soittaja antoi hetun {HETU}"}, ville)
    assert status == 201 and call is not None
    assert set(call) == {"id", "contact_id", "case_id", "resident_id"}
    assert call["resident_id"] != hanna["resident_id"]
    assert "Hanna" not in str(call) and "hanna@" not in str(call)
    assert phones_of(service, hanna["resident_id"]) == []  # the made-up number stays apart
    logged = await service.get_json(f"/api/v1/contacts/{call['contact_id']}", ville)
    assert logged["resident"] is None or "email" not in logged["resident"]
    assert logged["case_id"] != hanna["case_id"]


async def test_a_number_known_in_another_area_is_not_linked_and_the_step_says_why(
        service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    first = await service.post_json("/api/v1/calls", {
        "phone": "040 123 4567", "direction": "in", "notes": "Vuokra 00940"}, irma)
    assert first[0] == 201 and first[1]
    status, call = await service.post_json("/api/v1/calls", {
        "phone": "040 123 4567", "direction": "in", "notes": "Soitti minulle"}, ville)
    assert status == 201 and call
    assert call["resident_id"] is None and call["case_id"] is None
    contact = await service.get_json(f"/api/v1/contacts/{call['contact_id']}", ville)
    assert contact["routing"]["steps"][0]["code"] == "identify.not_visible"
    # The lead sees every area: their log links directly.
    _, by_lead = await service.post_json("/api/v1/calls", {
        "phone": "040 123 4567", "direction": "out", "notes": "Soitin takaisin"}, lead)
    assert by_lead and by_lead["resident_id"] == first[1]["resident_id"]


async def test_a_chosen_resident_links_only_within_ones_areas(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    hanna = await itainen_resident(service, lead)
    status, _ = await service.post_json("/api/v1/calls", {
        "phone": "050 765 4321", "direction": "in", "resident_id": hanna["resident_id"]},
        ville)
    assert status == 404
    found = await service.get_json("/api/v1/residents?q=hanna", ville)
    assert found["items"] == []
    [mine] = (await service.get_json("/api/v1/residents?q=hanna", irma))["items"]
    assert mine["id"] == hanna["resident_id"] and mine["case_id"] == hanna["case_id"]
    _, linked = await service.post_json("/api/v1/calls", {
        "phone": "050 765 4321", "direction": "in", "resident_id": mine["id"],
        "notes": "Hanna soitti uudesta numerosta"}, irma, status=201)
    assert linked and linked["resident_id"] == hanna["resident_id"]
    assert linked["case_id"] == hanna["case_id"]
    [by_number] = (await service.get_json("/api/v1/residents?q=050 765 4321", irma))["items"]
    assert by_number["id"] == hanna["resident_id"]


async def test_a_double_submitted_call_is_logged_once(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    body = {"phone": "040 123 4567", "direction": "in", "notes": "x",
            "client_id": str(uuid.uuid4())}
    _, first = await service.post_json("/api/v1/calls", body, irma, status=201)
    _, second = await service.post_json("/api/v1/calls", body, irma, status=201)
    assert first == second
    assert await count(service, CallLog) == 1
