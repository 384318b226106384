"""Working a contact: routing corrections as steps with who and why; internal notes."""

from __future__ import annotations

from tests.conftest import Service
from tests.integration.test_email import mail, send


async def test_corrections_are_routing_steps_with_who_and_why(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma")
    await send(service, mail("Naapuri on häiriköinyt, 00940"))
    [contact] = await service.wait_contacts(irma, 1)
    status, _ = await service.post_json(f"/api/v1/contacts/{contact['id']}/routing", {
        "reason": 12, "urgency": "urgent", "who_contacted": 7,
        "why": "Soitin: häätö ensi viikolla, sukulainen otti yhteyttä"}, irma)
    assert status == 200
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}?lang=en", irma)
    assert (detail["reason"], detail["urgency"], detail["who_contacted"]) == (12, "urgent", 7)
    corrections = [s for s in detail["routing"]["steps"] if s["rule"] == "correct"]
    assert [s["code"] for s in corrections] == [
        "correct.reason", "correct.urgency", "correct.who_contacted"]
    assert corrections[1]["text"].startswith("Urgency corrected: normal → urgent (Irma: ")
    for body in ({"reason": 99, "why": "x"}, {"urgency": "panic", "why": "x"},
                 {"reason": 2}, {"why": "nothing"}, {"area": "lantinen", "why": "x"}):
        got, _ = await service.post_json(f"/api/v1/contacts/{contact['id']}/routing", body,
                                         irma)
        assert got == 400, body


async def test_notes_are_internal_and_apart_from_the_messages(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma")
    await send(service, mail("Vuokravelkaa, 00940"))
    [contact] = await service.wait_contacts(irma, 1)
    _, note = await service.post_json(f"/api/v1/contacts/{contact['id']}/notes",
                                      {"text": "Sovittu soitto huomenna, hetu 131052-308T"},
                                      irma, status=201)
    assert note and note["by"] == "Irma" and "131052-308T" not in note["text"]
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", irma)
    assert [n["id"] for n in detail["notes"]] == [note["id"]]
    assert all("Sovittu" not in m["text"] for m in detail["messages"])
    assert service.relay.messages == []  # nothing was sent
    ella = service.add_staff("ella@hel.fi", ["etelainen"])
    got, _ = await service.post_json(f"/api/v1/contacts/{contact['id']}/notes",
                                     {"text": "x"}, ella)
    assert got == 404
