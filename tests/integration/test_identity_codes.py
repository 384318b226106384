"""A personal identity code given anywhere (a subject, a file name, a callback topic, call
notes) is stored only as its keyed hash: every text a person reads shows a placeholder."""

from __future__ import annotations

from tests.conftest import Service
from tests.integration.test_email import mail, send

HETU = "131052-308T"  # valid (python-stdnum agrees)
PLACEHOLDER = "[henkilötunnus]"


async def test_identity_codes_are_redacted_from_mail_subjects_and_file_names(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    message = mail(f"Hakemus liitteenä, hetu {HETU}.", subject=f"Asumistuki {HETU}")
    message.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf",
                           filename=f"hakemus_{HETU}.pdf")
    await send(service, message)
    [contact] = await service.wait_contacts(lead, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    shown = str(detail)
    assert HETU not in shown and HETU.lower() not in shown
    assert detail["subject"] == f"Asumistuki {PLACEHOLDER}"
    assert detail["messages"][0]["attachments"][0]["filename"] == f"hakemus_{PLACEHOLDER}.pdf"
    identify = detail["routing"]["steps"][0]
    assert "hetu" in identify["params"]["kinds"]  # the contact shows one was given


async def test_identity_codes_are_redacted_from_callback_topics_and_call_notes(
        service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    status, created = await service.post_json("/api/v1/callbacks", {
        "phone": "040 123 4567", "postal_code": "00940", "language": "fi",
        "text": f"Vuokravelka, hetuni on {HETU}"})
    assert status == 201, created
    [callback] = (await service.get_json("/api/v1/callbacks", irma))["items"]
    assert callback["text"] == f"Vuokravelka, hetuni on {PLACEHOLDER}"
    await service.post_json("/api/v1/calls", {
        "phone": "040 123 4567", "direction": "in",
        "notes": f"Asukas kertoi hetunsa {HETU} puhelimessa"}, irma, status=201)
    contacts = (await service.get_json("/api/v1/contacts?folder=all", irma))["items"]
    for contact in contacts:
        detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", irma)
        assert HETU not in str(detail), detail
    notes = [c["notes"] for contact in contacts for c in
             (await service.get_json(f"/api/v1/contacts/{contact['id']}", irma))["calls"]]
    assert f"Asukas kertoi hetunsa {PLACEHOLDER} puhelimessa" in notes


async def test_identity_codes_are_redacted_from_a_transfer_note(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await send(service, mail("Vuokra rästissä, 00940 Helsinki"))
    [contact] = await service.wait_contacts(lead, 1)
    await service.post_json(f"/api/v1/contacts/{contact['id']}/transfer", {
        "to_area": "etelainen", "note": f"Soitti, hetu {HETU}, asuu nyt Kalliossa"},
        lead, status=200)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    assert HETU not in str(detail)
    [step] = [s for s in detail["routing"]["steps"] if s.get("rule") == "transfer"]
    assert step["params"]["note"] == f"Soitti, hetu {PLACEHOLDER}, asuu nyt Kalliossa"
