"""Attachments, forwards and subjects over real SMTP: held files, limits, .eml, Re: once."""

from __future__ import annotations

import asyncio
import io
import zipfile
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import AccessLog, Staff
from tests.conftest import Service
from tests.integration.test_email import mail, send

PE = b"MZ\x90\x00" + b"\x00" * 56 + (64).to_bytes(4, "little") + b"PE\x00\x00" + b"\x00" * 400
OLE_HEAD = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def _macro_zip(part: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr(f"{part}/document.xml", b"<x/>")
        archive.writestr(f"{part}/vbaProject.bin", OLE_HEAD)
    return out.getvalue()


def _views(service: Service, contact_id: int, staff_email: str) -> list[str]:
    def read(session: Session) -> list[str]:
        staff_id = session.scalar(select(Staff.id).where(Staff.email == staff_email))
        return list(session.scalars(select(AccessLog.view).where(
            AccessLog.contact_id == contact_id, AccessLog.staff_id == staff_id)))
    return service.running.system.store.run(read)


async def _download(service: Service, contact_id: int, attachment_id: int, token: str
                    ) -> tuple[int, bytes]:
    url = f"{service.url}/contacts/{contact_id}/attachments/{attachment_id}"
    async with service.http.get(url, headers=service.auth(token)) as r:
        return r.status, await r.read()


async def test_a_program_named_pdf_is_held_for_leads_only(service: Service):
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    m = mail("Liitteenä lasku, 00320 Helsinki")
    m.add_attachment(PE, maintype="application", subtype="pdf", filename="lasku.pdf")
    await send(service, m)
    [contact] = await service.wait_contacts(ville, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", ville)
    [a] = detail["messages"][0]["attachments"]
    assert a["filename"] == "lasku.pdf" and a["content_type"] == "application/x-msdownload"
    assert a["state"] == "quarantined"
    assert a["quarantine_reason"] == {"code": "disguised", "params": {
        "what": {"code": "program.pe", "params": {}}, "suffix": ".pdf"}}
    assert a["quarantine_text"] == ("Windows-ohjelma (PE/MZ-suoritettava tiedosto), nimetty "
                                    "päätteellä .pdf näyttämään muulta")  # Finnish by default
    english = await service.get_json(f"/api/v1/contacts/{contact['id']}?lang=en", ville)
    assert english["messages"][0]["attachments"][0]["quarantine_text"] == (
        "a Windows program (PE/MZ executable), named .pdf to look like something else")
    async with service.http.get(f"{service.url}/api/v1/contacts/{contact['id']}",
                                headers={**service.auth(ville), "Accept-Language": "sv"}) as r:
        swedish = (await r.json())["messages"][0]["attachments"][0]
    assert swedish["quarantine_text"].startswith("ett Windows-program")
    status, body = await _download(service, contact["id"], a["id"], ville)
    assert status == 403 and b"only a lead or an admin can download it" in body
    assert "attachment" not in _views(service, contact["id"], "ville@hel.fi")
    status, body = await _download(service, contact["id"], a["id"], lead)
    assert status == 200 and body == PE
    assert "attachment" in _views(service, contact["id"], "lead@hel.fi")
    # The counsellor's page shows the file and why it is held, without a download link.
    async with service.http.get(f"{service.url}/contacts/{contact['id']}",
                                headers=service.auth(ville)) as r:
        page = await r.text()
    assert "lasku.pdf" in page and "karanteenissa: Windows-ohjelma (PE/MZ" in page
    assert f"/attachments/{a['id']}\"" not in page


async def test_macro_documents_are_held(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    m = mail("Taulukko ja sopimus, 00320 Helsinki")
    m.add_attachment(_macro_zip("word"), maintype="application",
                     subtype="vnd.ms-word.document.macroEnabled.12", filename="sopimus.docm")
    m.add_attachment(_macro_zip("xl"), maintype="application",
                     subtype="vnd.ms-excel.sheet.macroEnabled.12", filename="velat.xlsm")
    await send(service, m)
    [contact] = await service.wait_contacts(lead, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    docm, xlsm = detail["messages"][0]["attachments"]
    assert docm["quarantine_reason"] == xlsm["quarantine_reason"] == {"code": "macro.vba",
                                                                       "params": {}}
    assert docm["quarantine_text"] == "Office-asiakirja, jossa on makroja (VBA-projekti)"
    assert docm["content_type"].endswith("wordprocessingml.document")
    assert xlsm["content_type"].endswith("spreadsheetml.sheet")


async def test_a_30_mb_attachment_is_listed_as_too_large_and_the_mail_is_a_contact(
        service: Service):
    await service.restart(YHTEYS_SMTP_MAX_BYTES=str(40 * 2**20))
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    m = mail("Skannattu vuokrasopimus, 00320 Helsinki")
    big = b"%PDF-1.4\n" + b"\x00" * (30_000_000 - 9)
    m.add_attachment(big, maintype="application", subtype="pdf", filename="sopimus.pdf")
    m.add_attachment(b"%PDF-1.4 pieni", maintype="application", subtype="pdf",
                     filename="kuitti.pdf")
    await send(service, m, timeout=60)  # 40 MB over loopback: slow on a busy 2-core machine
    [contact] = await service.wait_contacts(lead, 1, timeout=60)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    large, small = detail["messages"][0]["attachments"]
    assert (large["filename"], large["size"]) == ("sopimus.pdf", 30_000_000)
    assert large["state"] == "not_stored"
    assert large["quarantine_reason"] == {"code": "too_large.file",
                                          "params": {"size": 30_000_000, "limit": 10_000_000}}
    assert large["quarantine_text"] == "liian suuri: 30 Mt, yli tiedostokohtaisen rajan 10 Mt"
    assert small["state"] == "stored" and small["quarantine_reason"] is None
    status, body = await _download(service, contact["id"], large["id"], lead)
    assert status == 404 and b"raw mail still holds it" in body
    assert (await _download(service, contact["id"], small["id"], lead)) == (200,
                                                                            b"%PDF-1.4 pieni")


async def test_the_attachment_limits_are_the_services_settings(service: Service):
    # Jobs in this process (on PostgreSQL the suite's shared worker has its own settings).
    await service.restart(YHTEYS_REDIS_URL="", YHTEYS_ATTACHMENT_MAX_BYTES="3000",
                          YHTEYS_ATTACHMENT_MESSAGE_MAX_BYTES="4000")
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    m = mail("Kolme liitettä, 00320 Helsinki")
    for name, size in (("iso.pdf", 3500), ("eka.pdf", 2500), ("toka.pdf", 2000)):
        m.add_attachment(b"%PDF-1.4\n" + b"0" * (size - 9), maintype="application",
                         subtype="pdf", filename=name)
    await send(service, m)
    [contact] = await service.wait_contacts(lead, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}?lang=en", lead)
    big, first, second = detail["messages"][0]["attachments"]
    assert big["quarantine_reason"] == {"code": "too_large.file",
                                        "params": {"size": 3500, "limit": 3000}}
    assert (first["state"], first["size"]) == ("stored", 2500)
    assert second["quarantine_reason"] == {"code": "too_large.message",
                                           "params": {"size": 2000, "limit": 4000}}
    assert second["quarantine_text"] == ("too large: 2 kB, over the limit of 4 kB for a "
                                         "message's files together")
    async with service.http.get(f"{service.url}/contacts/{contact['id']}",
                                headers=service.auth(lead)) as r:
        page = await r.text()
    assert "ei tallennettu: liian suuri: 3,5 kt, yli tiedostokohtaisen rajan 3 kt" in page
    status, body = await _download(service, contact["id"], second["id"], lead)
    assert status == 404 and b"raw mail still holds it" in body


async def test_a_forwarded_mail_keeps_its_bytes_and_text(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    inner = EmailMessage()
    inner["From"], inner["To"] = "Isännöinti Oy <isannointi@example.fi>", "matti@example.com"
    inner["Subject"], inner["Date"] = "Maksumuistutus", "Mon, 03 Nov 2025 10:12:00 +0200"
    inner.set_content("Vuokranne 850 € on erääntynyt. Kivihaantie 5, 00320 Helsinki.")
    m = mail("Sain tämän, mitä teen?", subject="VL: Maksumuistutus")
    m.add_attachment(inner)
    await send(service, m)
    [contact] = await service.wait_contacts(lead, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    [message] = detail["messages"]
    assert message["text"].startswith("Sain tämän, mitä teen?")
    assert "Välitetty viesti" in message["text"] and "Subject: Maksumuistutus" in message["text"]
    assert "Vuokranne 850 € on erääntynyt" in message["text"]
    assert message["quoted_from"] is None
    [a] = message["attachments"]
    assert a["filename"] == "Maksumuistutus.eml" and a["content_type"] == "message/rfc822"
    assert a["size"] > 100
    status, body = await _download(service, contact["id"], a["id"], lead)
    assert status == 200 and b"Subject: Maksumuistutus" in body and len(body) == a["size"]
    assert detail["subject"] == "Maksumuistutus"


async def test_prefixed_subject_shows_clean_and_the_reply_threads(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"], name="Ville")
    await send(service, mail("Vuokra 00320 Helsinki", subject="VS: Re: Vuokra",
                             message_id="<first@example.com>"))
    [contact] = await service.wait_contacts(token, 1)
    assert contact["summary"] == "Vuokra"
    assert (await service.get_json(f"/api/v1/contacts/{contact['id']}", token))["subject"] \
        == "Vuokra"
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                            {"text": "Soitan huomenna.", "secure": False}, token, status=201)
    [out] = await asyncio.to_thread(service.relay.wait_for, 1)
    assert out["Subject"] == "Re: Vuokra"
    await send(service, mail("Kiitos!", subject="Re: VS: Re: Vuokra",
                             message_id="<second@example.com>", In_Reply_To=out["Message-ID"],
                             References=f"<first@example.com> {out['Message-ID']}"))
    detail = await service.wait_detail(contact["id"], token, lambda d: len(d["messages"]) == 3)
    assert [m["direction"] for m in detail["messages"]] == ["in", "out", "in"]
    assert detail["subject"] == "Vuokra"
    assert len((await service.get_json("/api/v1/contacts?folder=all", token))["items"]) == 1


OUTLOOK_FI = (
    "Hei,\n\nkiitos vastauksesta. Maksan velan kahdessa erässä.\n\nTerveisin\nMatti\n\n"
    "________________________________\n"
    "Lähettäjä: Asumisneuvonta <asumisneuvonta@yhteys.test>\n"
    "Lähetetty: maanantai 3. marraskuuta 2025 10.12\n"
    "Vastaanottaja: Matti Meikäläinen <matti@example.com>\n"
    "Aihe: Re: Vuokra\n\n"
    "Hei Matti, ottakaa yhteyttä isännöitsijään. 00320 Helsinki\n")
GMAIL_EN = (
    "Thanks, I will call them tomorrow.\n\n"
    "On Mon, 3 Nov 2025 at 10:12, Asumisneuvonta <asumisneuvonta@yhteys.test>\nwrote:\n\n"
    "> Hi Matti,\n>\n> please contact your landlord. 00320 Helsinki\n")


async def test_quoted_history_offsets_for_outlook_fi_and_gmail_en(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await send(service, mail(OUTLOOK_FI, subject="VS: Vuokra", message_id="<o@example.com>"))
    await send(service, mail(GMAIL_EN, subject="Re: Rent", message_id="<g@example.com>",
                             sender="Jane <jane@example.com>"))
    contacts = await service.wait_contacts(lead, 2)
    by_subject = {}
    for c in contacts:
        detail = await service.get_json(f"/api/v1/contacts/{c['id']}", lead)
        by_subject[detail["subject"]] = detail
    outlook = by_subject["Vuokra"]["messages"][0]
    assert outlook["quoted_from"] == outlook["text"].index("________________________________")
    new = outlook["text"][:outlook["quoted_from"]].replace("\r\n", "\n").rstrip()
    assert new.endswith("Terveisin\nMatti")  # the text keeps the mail's CRLF line ends
    gmail = by_subject["Rent"]["messages"][0]
    assert gmail["quoted_from"] == gmail["text"].index("On Mon, 3 Nov 2025")
    async with service.http.get(f"{service.url}/contacts/{by_subject['Vuokra']['id']}",
                                headers=service.auth(lead)) as r:
        page = await r.text()
    assert "Näytä aiempi viestiketju" in page and "<details class=\"quoted\">" in page
