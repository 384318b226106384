"""Broken mail through the real listener and worker: still a contact a counsellor sees."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Service
from tests.integration.test_email import SERVICE, send
from tests.unit.test_broken_mail import EVERY_HEADER_MALFORMED


async def test_a_mail_with_every_header_malformed_and_a_null_sender_becomes_a_contact(
        service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await send(service, EVERY_HEADER_MALFORMED, sender="")
    [contact] = await service.wait_contacts(lead, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    assert detail["messages"][0]["text"] == "Vuokra on rästissä"
    assert (await service.get_json("/api/v1/unparsed", lead))["items"] == []
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies", {"text": "Hei"},
                            lead, status=201)
    detail = await service.wait_detail(
        contact["id"], lead, lambda d: d["messages"][-1]["delivery"]["state"] == "failed")
    assert detail["messages"][-1]["delivery"]["error"] == "no address to reply to"
    assert service.relay.messages == []


async def test_outlook_express_mail_keeps_its_text_and_its_file(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    data = (Path(__file__).parent.parent / "data" / "outlook_express.eml").read_bytes()
    await send(service, data.replace(b"asumisneuvonta@yhteys.test", SERVICE.encode()))
    [contact] = await service.wait_contacts(lead, 1)
    assert contact["area"] == "lantinen"
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    [message] = detail["messages"]
    assert message["text"].startswith("Vuokra on rästissä")
    assert [a["filename"] for a in message["attachments"]] == ["lasku.pdf"]
