"""The secure-message portal over real SMTP and HTTP: a counsellor's reply leaves as a
notification without its text; the resident opens the link, gets a one-time code in a
second mail, reads the reply and answers with a PDF; wrong codes lock, links expire; an
outsider asks for a compose link and writes to the service."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy import select

from inbox.models import AccessLog
from tests.conftest import Service
from tests.integration.test_email import PARTNER_PASS, mail, send

REPLY = "Hei Matti, maksusuunnitelma on nyt sovittu vuokranantajan kanssa."
LINK = re.compile(r"http://127\.0\.0\.1:\d+/s/([0-9a-f]+)")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def body_of(message: object) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]


async def notified(service: Service, token: str) -> tuple[dict, str]:
    await send(service, mail("Vuokra on rästissä, 00320 Helsinki"))
    [contact] = await service.wait_contacts(token, 1)
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies", {"text": REPLY},
                            token, status=201)
    [note] = await asyncio.to_thread(service.relay.wait_for, 1)
    text = body_of(note)
    assert REPLY not in note.as_string() and "maksusuunnitelma" not in note.as_string()
    assert note["Auto-Submitted"] == "auto-generated" and note["To"] == "matti@example.com"
    assert note["In-Reply-To"] == "<m1@example.com>"
    match = LINK.search(text)
    assert match, text
    return contact, match.group(1)


async def code_from_mail(service: Service, count: int) -> str:
    mails = await asyncio.to_thread(service.relay.wait_for, count)
    found = re.search(r"\b(\d{6})\b", body_of(mails[count - 1]))
    assert found
    return found.group(1)


async def identify(http: aiohttp.ClientSession, service: Service, url: str, mails: int) -> None:
    """Ask for the code, read it from the mail (the `mails`th at the relay), enter it."""
    await (await http.post(url + "/code")).release()
    code = await code_from_mail(service, mails)
    await (await http.post(url + "/verify", data={"code": code})).release()


def resident_browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_resident_reads_the_secure_reply_after_a_code_and_answers_with_a_pdf(
        service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    contact, link = await notified(service, token)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
    assert detail["messages"][-1]["delivery"]["state"] == "notified"
    assert detail["messages"][-1]["delivery"]["secure"] is True
    url = f"{service.url}/s/{link}"
    async with resident_browser() as http:
        async with http.get(url) as r:
            page = await r.text()
            assert r.status == 200 and REPLY not in page
            assert "m***@example.com" in page and 'autocomplete="one-time-code"' not in page
        async with http.post(url + "/code") as r:
            page = await r.text()
            assert 'autocomplete="one-time-code"' in page
        code = await code_from_mail(service, 2)
        wrong = "000000" if code != "000000" else "111111"
        async with http.post(url + "/verify", data={"code": wrong}) as r:
            assert r.status == 400 and REPLY not in await r.text()
        async with http.post(url + "/verify", data={"code": code}) as r:
            page = await r.text()
            assert r.status == 200 and REPLY in page  # followed the redirect, now identified
        opened = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
        delivery = opened["messages"][-1]["delivery"]
        assert delivery["state"] == "opened" and delivery["opened_at"]
        form = aiohttp.FormData()
        form.add_field("nonce", "n1")
        form.add_field("text", "Kiitos! Liitteenä maksusuunnitelma.")
        form.add_field("files", PDF, filename="suunnitelma.pdf",
                       content_type="application/octet-stream")
        async with http.post(url + "/send", data=form) as r:
            assert r.status == 200 and "Lähetetty." in await r.text()
    answered = await service.wait_detail(contact["id"], token,
                                         lambda d: len(d["messages"]) == 3)
    last = answered["messages"][-1]
    assert last["direction"] == "in" and last["text"].startswith("Kiitos!")
    assert last["attachments"][0]["filename"] == "suunnitelma.pdf"
    assert last["attachments"][0]["content_type"] == "application/pdf"  # sniffed
    assert answered["messages"][1]["delivery"]["state"] == "replied"
    assert answered["status"] == "open"
    logged = service.running.system.store.run(lambda s: [
        (a.view, a.action) for a in s.scalars(select(AccessLog).where(
            AccessLog.actor.is_not(None)))])
    assert ("secure.open", "read") in logged and ("secure.wrong_code", "refused") in logged
    async with resident_browser() as other:  # a second browser must identify again
        async with other.get(url) as r:
            assert REPLY not in await r.text()


async def test_five_wrong_codes_lock_the_link_and_links_expire(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    contact, link = await notified(service, token)
    url = f"{service.url}/s/{link}"
    async with resident_browser() as http:
        await (await http.post(url + "/code")).release()
        code = await code_from_mail(service, 2)
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(5):
            await (await http.post(url + "/verify", data={"code": wrong})).release()
        async with http.post(url + "/verify", data={"code": code}) as r:
            assert r.status == 423 and REPLY not in await r.text()
        clock = service.running.system.clock
        clock.set(datetime.now(UTC) + timedelta(hours=2))  # the lock is over: a new code
        await (await http.post(url + "/code")).release()
        fresh = await code_from_mail(service, 3)
        clock.set(datetime.now(UTC) + timedelta(hours=2, minutes=16))  # 15 min passed
        async with http.post(url + "/verify", data={"code": fresh}) as r:
            assert r.status == 400
        clock.set(datetime.now(UTC) + timedelta(days=31))
        async with http.get(url) as r:
            assert r.status == 410
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
    assert detail["messages"][-1]["delivery"]["state"] == "expired"


async def test_uploads_are_checked_by_content_and_size(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    contact, link = await notified(service, token)
    url = f"{service.url}/s/{link}"
    async with resident_browser() as http:
        await identify(http, service, url, 2)
        for name, data, error in (
                # an .exe renamed .pdf: the mail's rule (inbox.attachments.judge) holds it
                ("lasku.pdf", b"MZ\x90\x00" + b"\x00" * 100,
                 "lasku.pdf ei ole PDF, kuva eikä toimisto-asiakirja."),
                ("paketti.zip", b"PK\x05\x06" + b"\x00" * 18,  # an (empty) archive
                 "paketti.zip ei ole PDF, kuva eikä toimisto-asiakirja."),
                ("iso.pdf", b"%PDF-" + b"0" * (11 * 2**20),
                 "Tiedosto on suurempi kuin 10 Mt.")):
            form = aiohttp.FormData()
            form.add_field("text", "Liite")
            form.add_field("files", data, filename=name)
            async with http.post(url + "/send", data=form) as r:
                assert r.status == 400, name
                assert error in await r.text(), name
        async with http.post(url + "/code", headers={"Origin": "https://evil.example"}) as r:
            assert r.status == 403
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
    assert len(detail["messages"]) == 2  # nothing stored


async def test_the_portal_takes_the_services_attachment_limits(service: Service):
    await service.restart(YHTEYS_ATTACHMENT_MAX_BYTES="1500000",
                          YHTEYS_ATTACHMENT_MESSAGE_MAX_BYTES="2000000")
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    contact, link = await notified(service, token)
    url = f"{service.url}/s/{link}"
    async with resident_browser() as http:
        await identify(http, service, url, 2)
        async with http.get(url) as r:
            assert "enintään 1,5 Mt kukin ja 2 Mt yhteensä" in await r.text()
        async with http.get(url + "?lang=en") as r:
            assert "at most 1.5 MB each and 2 MB together" in await r.text()
        for sizes, error in (((1_600_000,), "Tiedosto on suurempi kuin 1,5 Mt."),
                             ((1_200_000, 1_200_000),
                              "Tiedostot ovat yhteensä suurempia kuin 2 Mt.")):
            form = aiohttp.FormData()
            form.add_field("text", "Liitteet")
            for i, size in enumerate(sizes):
                form.add_field("files", b"%PDF-" + b"0" * size, filename=f"{i}.pdf")
            async with http.post(url + "/send", data=form) as r:
                assert r.status == 400 and error in await r.text(), sizes
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
    assert len(detail["messages"]) == 2  # nothing stored


async def test_an_outsider_asks_for_a_compose_link_and_writes_to_the_service(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    async with resident_browser() as http:
        async with http.get(f"{service.url}/secure/new?lang=sv") as r:
            page = await r.text()
            assert r.status == 200 and 'lang="sv"' in page and 'autocomplete="email"' in page
        async with http.post(f"{service.url}/secure/new?lang=sv",
                             data={"email": "Sosiaali.Tyontekija@Hel.FI"}) as r:
            assert r.status == 200
        [link_mail] = await asyncio.to_thread(service.relay.wait_for, 1)
        assert link_mail["To"] == "sosiaali.tyontekija@hel.fi"
        match = LINK.search(body_of(link_mail))
        assert match and "10" in body_of(link_mail)
        url = f"{service.url}/s/{match.group(1)}"
        await identify(http, service, url, 2)
        form = aiohttp.FormData()
        form.add_field("nonce", "c1")
        form.add_field("text", "Asiakkaani tarvitsee apua vuokravelkaan, 00320 Helsinki.")
        async with http.post(url + "/send", data=form) as r:
            assert r.status == 200
    [contact] = await service.wait_contacts(token, 1)
    assert contact["channel"] == "email" and contact["area"] == "lantinen"
    assert contact["resident"]["email"] == "sosiaali.tyontekija@hel.fi"
    assert contact["language"] == "sv"


async def test_partners_never_get_a_portal_link(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await send(service, mail("Vuokravelkaa asiakkaalla", sender="Kela <etuus@kela.fi>",
                             Authentication_Results=PARTNER_PASS), sender="etuus@kela.fi")
    [contact] = await service.wait_contacts(lead, 1)
    status, problem = await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                                              {"text": "Kiitos", "secure": True}, lead)
    assert status == 409 and problem
    _, reply = await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                                       {"text": "Kiitos"}, lead, status=201)
    assert reply and reply["delivery"]["secure"] is False  # a mail, not a link
    # ... which leaves only over TLS (test_partner_lanes.py); this relay has none: held.
    detail = await service.wait_detail(
        contact["id"], lead, lambda d: d["messages"][-1]["delivery"]["state"] == "failed")
    assert "held, not sent" in detail["messages"][-1]["delivery"]["error"]
