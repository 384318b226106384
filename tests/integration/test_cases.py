"""The case carried through the process: steps, interventions, events, key dates and
their urgency, follow-ups raised once, closing with an outcome, handover, conflicts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.hours import HELSINKI
from inbox.models import AccessLog, FollowUp
from tests.conftest import Service
from tests.integration.test_email import mail, send

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=HELSINKI)
HETU = "131052-308T"


@pytest.fixture
async def case_of(service: Service) -> tuple[Service, str, dict]:
    """Irma of Itäinen and the case a resident's mail opened."""
    service.running.system.clock.set(NOW)
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    await send(service, mail(f"Minulla on vuokravelkaa, 00940 Helsinki. Hetu {HETU}",
                             sender="Hanna Itä <hanna@example.com>"), sender="hanna@example.com")
    [contact] = await service.wait_contacts(irma, 1)
    case = await service.get_json(f"/api/v1/cases/{contact['case_id']}", irma)
    return service, irma, case


async def post(service: Service, path: str, body: dict, token: str, status: int) -> dict:
    got, data = await service.post_json(path, body, token)
    assert got == status, data
    return data or {}


async def patch(service: Service, path: str, body: dict, token: str) -> tuple[int, dict]:
    async with service.http.patch(service.url + path, json=body,
                                  headers=service.auth(token)) as r:
        return r.status, await r.json(content_type=None)


async def test_the_case_shows_the_resident_masked_and_every_contact(case_of):
    service, _irma, case = case_of
    assert case["status"] == "open" and case["area"] == "itainen"
    assert case["reasons"] == [2] and case["counsellor"]["name"] == "Irma Itäinen"
    resident = case["resident"]
    assert resident["name"] == "Hanna Itä" and resident["identity_code_given"] is True
    assert resident["email"] == "h•••@example.com"
    assert HETU not in str(case) and "308T" not in str(case)
    assert [c["channel"] for c in case["contacts"]] == ["email"]

    def logged(session: Session) -> list[str]:
        return list(session.scalars(select(AccessLog.view).where(
            AccessLog.case_id == case["id"])))
    assert "api.case" in service.running.system.store.run(logged)


async def test_steps_interventions_and_events_make_one_timeline(case_of):
    service, irma, case = case_of
    base = f"/api/v1/cases/{case['id']}"
    await post(service, f"{base}/steps", {"code": 1, "at": "2026-11-30"}, irma, 201)
    await post(service, f"{base}/steps", {"code": 4}, irma, 201)
    await post(service, f"{base}/interventions", {"code": "rent_debt",
                                                 "note": "maksusuunnitelma"}, irma, 201)
    await post(service, f"{base}/events", {"kind": "partner", "code": "kela"}, irma, 201)
    await post(service, f"{base}/events", {"kind": "meeting", "code": "home_visit",
                                          "text": "Kotikäynti"}, irma, 201)
    await post(service, f"{base}/events", {"kind": "goal", "text": "Vuokrat ajallaan"}, irma,
               201)
    shown = await post(service, f"{base}/notes", {"text": f"Sisäinen muistiinpano {HETU}"},
                       irma, 201)
    assert [(s["code"], s["label"], s["by"]) for s in shown["steps"]] == [
        (1, "Vuokravelkatilanteen selvittely", "Irma Itäinen"),
        (4, "Maksusopimus tehty", "Irma Itäinen")]
    assert shown["steps"][0]["at"].startswith("2026-11-30")
    assert [(i["code"], i["text"]) for i in shown["interventions"]] == [
        ("rent_debt", "maksusuunnitelma")]
    assert [e["kind"] for e in shown["events"]] == [
        "step", "step", "intervention", "partner", "meeting", "goal", "note"]
    assert HETU not in str(shown)


@pytest.mark.parametrize(("path", "body", "code"), [
    ("steps", {"code": 15}, "step.unknown"), ("steps", {"code": "1"}, "step.unknown"),
    ("interventions", {"code": "magic"}, "intervention.unknown"),
    ("events", {"kind": "meeting", "code": "pub"}, "meeting.unknown"),
    ("follow-ups", {"due": "2026-12-01", "kind": "follow_up"}, "due.past"),
    ("follow-ups", {"due": "2029-01-01", "kind": "follow_up"}, "due.too_far"),
    ("close", {"outcome": "solved"}, "outcome.unknown"),
    ("steps", {"code": 1, "at": "2027-01-01"}, "at.future"),
])
async def test_codes_outside_the_taxonomy_and_bad_dates_are_refused(case_of, path, body,
                                                                    code):
    service, irma, case = case_of
    refused = await post(service, f"/api/v1/cases/{case['id']}/{path}", body, irma, 400)
    assert refused["code"] == code
    after = await service.get_json(f"/api/v1/cases/{case['id']}", irma)
    assert after["events"] == [] and after["follow_ups"] == [] and after["status"] == "open"


async def test_an_eviction_within_14_days_makes_the_case_and_its_contacts_urgent(case_of):
    service, irma, case = case_of
    status, edited = await patch(service, f"/api/v1/cases/{case['id']}", {
        "version": case["version"], "hearing_date": "2026-12-20"}, irma)
    assert status == 200 and edited["urgency"] == "high"
    status, edited = await patch(service, f"/api/v1/cases/{case['id']}", {
        "version": edited["version"], "eviction_date": "2026-12-15",
        "housing_type": "city_company"}, irma)
    assert status == 200 and edited["urgency"] == "urgent"
    [contact] = await service.wait_contacts(irma, 1)
    assert contact["urgency"] == "urgent"
    # A later contact on the same case is urgent by the case's dates, whatever its words.
    await send(service, mail("Kiitos viestistä", message_id="<later@example.com>",
                             sender="Hanna Itä <hanna@example.com>"), sender="hanna@example.com")
    later = next(c for c in await service.wait_contacts(irma, 2) if c["id"] != contact["id"])
    assert later["case_id"] == case["id"] and later["urgency"] == "urgent"
    assert any(s["code"] == "classify.case_dates" for s in later["routing"]["steps"])


async def test_two_counsellors_editing_at_once_the_second_is_told(case_of):
    service, irma, case = case_of
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    first, _ = await patch(service, f"/api/v1/cases/{case['id']}",
                           {"version": case["version"], "housing_type": "private_landlord"},
                           irma)
    second, problem = await patch(service, f"/api/v1/cases/{case['id']}",
                                  {"version": case["version"], "housing_type": "subtenant"},
                                  lead)
    assert (first, second) == (200, 409)
    assert "reload" in problem["detail"]
    after = await service.get_json(f"/api/v1/cases/{case['id']}", irma)
    assert after["housing_type"] == "private_landlord"


async def test_a_follow_up_due_today_is_raised_once_even_across_a_restart(case_of):
    service, irma, case = case_of
    await post(service, f"/api/v1/cases/{case['id']}/follow-ups",
               {"due": "2026-12-03", "kind": "interim_evaluation", "note": "väliarviointi"},
               irma, 201)
    system = service.running.system
    from inbox.followups import raise_due

    def run(day: datetime) -> int:
        return system.store.run(raise_due, day.date(), day, system.case_vocabulary)
    assert run(NOW) == 0  # not due yet
    soon = (await service.get_json("/api/v1/follow-ups", irma))["items"]
    assert [(f["kind"], f["overdue"]) for f in soon] == [("interim_evaluation", False)]
    tomorrow = NOW + timedelta(days=1)
    assert run(tomorrow) == 1
    await service.restart()
    system = service.running.system
    assert run(tomorrow) == 0 and run(tomorrow + timedelta(hours=5)) == 0

    def reminded(session: Session) -> list[object]:
        return [f.reminded_at for f in session.scalars(select(FollowUp))]
    assert len([r for r in system.store.run(reminded) if r is not None]) == 1


async def test_closing_with_an_outcome_and_a_later_contact_opens_a_linked_case(case_of):
    service, irma, case = case_of
    closed = await post(service, f"/api/v1/cases/{case['id']}/close",
                        {"outcome": "eviction_prevented", "note": "Maksusopimus piti"},
                        irma, 200)
    assert closed["status"] == "closed" and closed["outcome"] == "eviction_prevented"
    again = await post(service, f"/api/v1/cases/{case['id']}/close",
                       {"outcome": "moved"}, irma, 409)
    assert again["title"] == "Case closed"
    await post(service, f"/api/v1/cases/{case['id']}/steps", {"code": 2}, irma, 409)
    await send(service, mail("Taas vuokra myöhässä, 00940", message_id="<new@example.com>",
                             sender="Hanna Itä <hanna@example.com>"), sender="hanna@example.com")
    newest = max(await service.wait_contacts(irma, 2), key=lambda c: c["id"])
    assert newest["case_id"] != case["id"]
    new_case = await service.get_json(f"/api/v1/cases/{newest['case_id']}", irma)
    assert new_case["previous_case_id"] == case["id"] and new_case["status"] == "open"


async def test_hand_over_to_another_counsellor_with_a_note(case_of):
    service, irma, case = case_of
    ilkka = service.add_staff("ilkka@hel.fi", ["itainen"], name="Ilkka")
    ilkka_id = (await service.get_json("/api/v1/me", ilkka))["id"]
    moved = await post(service, f"/api/v1/cases/{case['id']}/handover",
                       {"to_staff_id": ilkka_id, "note": "Lomani ajaksi"}, irma, 200)
    assert moved["counsellor"] == {"id": ilkka_id, "name": "Ilkka"}
    assert moved["events"][-1]["kind"] == "handover"
    assert moved["events"][-1]["text"] == "Lomani ajaksi"
    await post(service, f"/api/v1/cases/{case['id']}/handover",
               {"to_staff_id": ilkka_id}, irma, 409)


async def test_another_areas_case_is_not_there(case_of):
    service, _irma, case = case_of
    ella = service.add_staff("ella@hel.fi", ["etelainen"])
    await service.get_json(f"/api/v1/cases/{case['id']}", ella, status=404)
    await post(service, f"/api/v1/cases/{case['id']}/notes", {"text": "x"}, ella, 404)
