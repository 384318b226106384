"""Reply templates: leads keep them per language; a counsellor fills one for a contact."""

from __future__ import annotations

from tests.conftest import Service
from tests.integration.test_email import mail, send


async def test_a_lead_keeps_templates_and_a_counsellor_fills_one(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    _, made = await service.post_json("/api/v1/templates", {
        "name": "Kiitos", "language": "fi",
        "text": "Hei {first_name}, kiitos viestistä. Olemme auki {opening_hours}. "
                "Terveisin {counsellor}"}, lead, status=201)
    assert made
    got, _ = await service.post_json("/api/v1/templates", {
        "name": "Oma", "language": "fi", "text": "Hei"}, irma)
    assert got == 403  # counsellors use them; leads keep them
    got, refused = await service.post_json("/api/v1/templates", {
        "name": "Rikki", "language": "sv", "text": "Hej {fornamn}"}, lead)
    assert got == 400 and refused and refused["code"] == "template.unknown_placeholder"
    got, _ = await service.post_json("/api/v1/templates", {
        "name": "Kiitos", "language": "fi", "text": "Toinen"}, lead)
    assert got == 409
    await send(service, mail("Vuokravelkaa, 00940", sender="Matti Meikäläinen <m@example.com>"),
               sender="m@example.com")
    [contact] = await service.wait_contacts(irma, 1)
    filled = await service.get_json(
        f"/api/v1/contacts/{contact['id']}/templates/{made['id']}", irma)
    assert filled["text"] == ("Hei Matti, kiitos viestistä. Olemme auki ma\u2013pe "
                              "9.00\u201315.00. Terveisin Irma Itäinen")
    assert [t["name"] for t in (await service.get_json("/api/v1/templates?language=fi",
                                                       irma))["items"]] == ["Kiitos"]
