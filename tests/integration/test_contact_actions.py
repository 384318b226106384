"""What counsellors do with a contact besides answering: take it, close it, open a file."""

from __future__ import annotations

from sqlalchemy import select

from inbox.models import AccessLog, Case
from inbox.staff import set_disabled, staff_id_of
from tests.conftest import Service
from tests.integration.test_email import mail, send
from tests.integration.test_web_security import HIDDEN_CSRF, browser, log_in


async def _mail_contact(service: Service, token: str, text: str = "Apua, 00320 Helsinki"
                        ) -> dict:
    await send(service, mail(text))
    [contact] = await service.wait_contacts(token, 1)
    return contact


async def test_taking_a_pool_contact_assigns_it_and_its_case(service: Service):
    # No counsellor in the area yet: the contact waits in the area's pool.
    first = service.add_staff("eka@hel.fi", ["etelainen"])
    await send(service, mail("Apua, 00320 Helsinki"))
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    [contact] = await service.wait_contacts(lead, 1)
    assert contact["assignee"] is None and contact["area"] == "lantinen"
    # A counsellor of another area cannot take it; the area's new counsellor can.
    status, _ = await service.post_json(f"/api/v1/contacts/{contact['id']}/take", {}, first)
    assert status == 404
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    status, taken = await service.post_json(f"/api/v1/contacts/{contact['id']}/take", {}, ville)
    assert status == 200 and taken["assignee"]["email"] == "ville@hel.fi"
    case = service.running.system.store.run(lambda s: s.get(Case, contact["case_id"]))
    assert case.counsellor_id == taken["assignee"]["id"]
    # The next mail of the same resident goes straight to the case's counsellor.
    await send(service, mail("Vielä yksi asia", message_id="<m2@example.com>"))
    items = await service.wait_contacts(lead, 2)
    assert {i["assignee"]["email"] for i in items} == {"ville@hel.fi"}


async def test_closed_contact_opens_again_when_the_resident_writes(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    contact = await _mail_contact(service, token)
    status, closed = await service.post_json(f"/api/v1/contacts/{contact['id']}/close", {},
                                             token)
    assert status == 200 and closed["status"] == "closed"
    await send(service, mail("Kiitos, vielä kysymys", message_id="<m3@example.com>",
                             In_Reply_To="<m1@example.com>"))
    detail = await service.wait_detail(contact["id"], token, lambda d: d["status"] == "open")
    assert detail["status"] == "open" and len(detail["messages"]) == 2


async def test_attachment_downloads_only_for_those_who_may_see_it(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    other = service.add_staff("ella@hel.fi", ["etelainen"])
    m = mail("Liitteenä vuokralasku, 00320 Helsinki")
    m.add_attachment(b"%PDF-1.4 lasku", maintype="application", subtype="pdf",
                     filename="vuokralasku ä.pdf")
    await send(service, m)
    [contact] = await service.wait_contacts(token, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
    [attachment] = detail["messages"][0]["attachments"]
    assert attachment["filename"] == "vuokralasku ä.pdf" and attachment["size"] == 14
    url = f"{service.url}/contacts/{contact['id']}/attachments/{attachment['id']}"
    async with service.http.get(url, headers=service.auth(token)) as r:
        assert r.status == 200 and await r.read() == b"%PDF-1.4 lasku"
        assert r.headers["Content-Disposition"].startswith("attachment;")
        assert "sandbox" in r.headers["Content-Security-Policy"]
    async with service.http.get(url, headers=service.auth(other)) as r:
        assert r.status == 404
    views = service.running.system.store.run(lambda s: list(s.scalars(
        select(AccessLog.view).where(AccessLog.contact_id == contact["id"]))))
    assert "attachment" in views


async def test_a_phone_contact_is_answered_by_logging_the_call(service: Service):
    token = service.add_staff("irma@hel.fi", ["itainen"])
    await service.post_json("/api/v1/callbacks", {"phone": "040 765 4321", "postal_code": "00940",
                                                  "language": "fi", "text": "vuokra"},
                            status=201)
    [contact] = await service.wait_contacts(token, 1)
    status, problem = await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                                              {"text": "Hei"}, token)
    assert status == 409 and "log the call" in problem["detail"]
    async with browser(service) as http:
        await log_in(service, http, "irma@hel.fi")
        page = f"{service.url}/contacts/{contact['id']}"
        async with http.get(page) as r:
            html = await r.text()
            assert f'action="/contacts/{contact["id"]}/reply"' not in html
            csrf = HIDDEN_CSRF.search(html).group(1)
        async with http.post(page + "/call", allow_redirects=False, data={
                "csrf_token": csrf, "direction": "out", "notes": "Sovittiin maksusuunnitelma",
                "minutes": "7"}) as r:
            assert r.status == 303
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
    [call] = detail["calls"]
    assert call["notes"] == "Sovittiin maksusuunnitelma" and call["duration_s"] == 420
    assert detail["status"] == "answered"
    assert detail["messages"][0]["text"] == "vuokra"  # the resident's own words


async def test_away_counsellor_gets_no_new_contacts(service: Service):
    away = service.add_staff("away@hel.fi", ["lantinen"])
    here = service.add_staff("here@hel.fi", ["lantinen"])
    await service.post_json("/api/v1/me/availability", {"available": "no"}, away, status=400)
    await service.post_json("/api/v1/me/availability", {"available": False}, away, status=200)
    assert (await service.get_json("/api/v1/me", away))["available"] is False
    for i in range(3):
        await send(service, mail(f"Apua {i}, 00320 Helsinki", sender=f"r{i}@example.com",
                                 message_id=f"<away{i}@example.com>"), sender=f"r{i}@example.com")
    items = await service.wait_contacts(here, 3)
    assert {i["assignee"]["email"] for i in items} == {"here@hel.fi"}
    await service.post_json("/api/v1/me/availability", {"available": True}, away, status=200)
    await send(service, mail("Apua taas, 00320 Helsinki", sender="r9@example.com",
                             message_id="<back@example.com>"), sender="r9@example.com")
    items = await service.wait_contacts(here, 4)
    assert "away@hel.fi" in {i["assignee"]["email"] for i in items}  # fewest open: 0


async def test_a_contact_is_handed_only_to_someone_who_works_contacts(service: Service):
    """An auditor cannot see a resident's contact and a disabled account cannot log in:
    neither is offered as a transfer target, and a transfer to one is refused in words."""
    ville = service.add_staff("ville@hel.fi", ["lantinen"], name="Ville Neuvoja")
    service.add_staff("aino@hel.fi", [], role="auditor", name="Aino Tarkastaja")
    service.add_staff("olli@hel.fi", ["lantinen"], name="Olli Poissa")
    store = service.running.system.store
    store.run(set_disabled, "olli@hel.fi", True)
    auditor, disabled = (store.run(staff_id_of, e) for e in ("aino@hel.fi", "olli@hel.fi"))
    contact = await _mail_contact(service, ville)
    path = f"/api/v1/contacts/{contact['id']}/transfer"
    for target in (auditor, disabled):
        status, problem = await service.post_json(path, {"to_staff_id": target,
                                                         "note": "Hoida tämä"}, ville)
        assert status == 400 and problem is not None, problem
        assert problem["code"] == "transfer.not_a_worker" and "choose a counsellor" in problem[
            "detail"]
    async with browser(service) as http:
        await log_in(service, http, "ville@hel.fi")
        page = f"{service.url}/contacts/{contact['id']}"
        async with http.get(page) as r:
            html = await r.text()
        assert "Ville Neuvoja" in html
        assert "Aino Tarkastaja" not in html and "Olli Poissa" not in html
        async with http.post(page + "/transfer", allow_redirects=False, data={
                "csrf_token": HIDDEN_CSRF.search(html).group(1),  # type: ignore[union-attr]
                "to_staff_id": str(auditor), "note": "Hoida tämä"}) as r:
            assert r.status == 400 and "Valitse neuvoja listasta." in await r.text()
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", ville)
    assert detail["assignee"]["email"] == "ville@hel.fi"
