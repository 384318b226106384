"""Attachments sniffed and held, forwarded mail kept, subjects cleaned, quoted history found."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from channels.email.parse import inbound_from
from inbox.attachments import Limits, Reason, judge, read_reason, sniff
from inbox.quoting import FORWARDED, clean_subject, quoted_from, reply_subject

PE = b"MZ\x90\x00" + b"\x00" * 56 + (64).to_bytes(4, "little") + b"PE\x00\x00" + b"\x00" * 200
OLE_HEAD = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


DOCX = _zip({"[Content_Types].xml": b'<Types><Override ContentType="application/vnd.'
             b'openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
             "word/document.xml": b"<w:document/>"})
DOCM = _zip({"[Content_Types].xml": b'<Types><Override ContentType="application/vnd.'
             b'ms-word.document.macroEnabled.main+xml"/></Types>',
             "word/document.xml": b"<w:document/>", "word/vbaProject.bin": OLE_HEAD})
XLSM = _zip({"[Content_Types].xml": b'<Types><Override ContentType="application/vnd.'
             b'ms-excel.sheet.macroEnabled.main+xml"/></Types>',
             "xl/workbook.xml": b"<workbook/>", "xl/vbaProject.bin": OLE_HEAD})
ODT = _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})


@pytest.mark.parametrize(("data", "kind"), [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"GIF89a\x01\x00\x01\x00", "image/gif"),
    (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
    (DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (ODT, "application/vnd.oasis.opendocument.text"),
    (OLE_HEAD + "WordDocument".encode("utf-16-le"), "application/msword"),
    ("Hei, tässä vuokrasopimus.\n".encode(), "text/plain"),
])
def test_harmless_types_are_sniffed_from_the_bytes(data: bytes, kind: str):
    verdict = judge("liite.bin", data)
    assert (verdict.content_type, verdict.quarantine) == (kind, None)


@pytest.mark.parametrize(("name", "data", "held"), [
    ("lasku.pdf", PE, Reason("disguised", {"what": Reason("program.pe"), "suffix": ".pdf"})),
    ("ohjelma.exe", PE, Reason("program.pe")),
    ("ohjelma", b"\x7fELF\x02\x01\x01" + b"\x00" * 60, Reason("program.elf")),
    ("app", b"\xcf\xfa\xed\xfe" + b"\x00" * 60, Reason("program.macho")),
    ("Main.class", b"\xca\xfe\xba\xbe\x00\x00\x00\x34", Reason("program.java")),
    ("sopimus.docx", DOCM, Reason("macro.vba")),
    ("taulukko.xlsm", XLSM, Reason("macro.vba")),
    ("sopimus.docx", _zip({"[Content_Types].xml": b"<Types>macroEnabled</Types>",
                           "word/document.xml": b"<w/>"}), Reason("macro.content_type")),
    ("vanha.doc", OLE_HEAD + "WordDocument".encode("utf-16-le")
     + "_VBA_PROJECT".encode("utf-16-le"), Reason("macro.vba")),
    ("tiedot.docm", DOCX, Reason("macro.suffix", {"suffix": ".docm"})),
    ("laskelma.ods", _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                           "Basic/Standard/Module1.xml": b"<x/>"}),
     Reason("macro.opendocument")),
    ("lasku.js", b"var x = new ActiveXObject('WScript.Shell');",
     Reason("runs_when_opened", {"suffix": ".js"})),
    ("run.vbs", b"CreateObject(\"WScript.Shell\").Run \"calc\"",
     Reason("runs_when_opened", {"suffix": ".vbs"})),
    ("aja.bat", b"@echo off\r\ndel /q *", Reason("runs_when_opened", {"suffix": ".bat"})),
    ("x.ps1", b"Invoke-WebRequest http://x", Reason("runs_when_opened", {"suffix": ".ps1"})),
    ("kuva.jpg.lnk", b"L\x00\x00\x00\x01\x14\x02\x00" + b"\x00" * 60, Reason("shortcut")),
    ("sivu.hta", b"<html><script>", Reason("runs_when_opened", {"suffix": ".hta"})),
    ("skripti", b"#!/bin/sh\nrm -rf ~\n", Reason("script")),
    ("paketti.zip", _zip({"lasku.pdf.exe": PE}),
     Reason("archive.program", {"name": "lasku.pdf.exe"})),
    # A zip whose first entry claims a type is no OpenDocument: its program is still found.
    ("lasku.zip", _zip({"mimetype": b"application/pdf", "lasku.exe": PE}),
     Reason("archive.program", {"name": "lasku.exe"})),
])
def test_programs_and_macro_documents_are_held_with_the_reason(name: str, data: bytes,
                                                               held: Reason):
    verdict = judge(name, data)
    assert verdict.quarantine == held, verdict
    assert read_reason(held.stored()) == held  # stored as JSON, read back the same


def test_an_encrypted_zip_is_held():
    data = bytearray(_zip({"tiedot.txt": b"salainen"}))
    data[6] |= 0x1  # the local header's "encrypted" flag
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 0x1  # ... and the central directory's
    assert judge("tiedot.zip", bytes(data)).quarantine == Reason("archive.encrypted")


def test_a_text_file_that_starts_with_mz_is_text():
    assert sniff(b"MZ-kirjain on tiedoston alussa, mutta t\xc3\xa4m\xc3\xa4 on teksti\xc3\xa4." * 3
                 ).content_type == "text/plain"


def _mail(subject: str = "Apua") -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "Matti <matti@example.com>", "a@yhteys.test", subject
    m["Message-ID"] = "<m1@example.com>"
    m.set_content("Hei, liitteenä lasku.")
    return m


def _inbound(m: EmailMessage, limits: Limits | None = None):
    return inbound_from(m, 1, "k", datetime(2026, 1, 5, tzinfo=UTC), limits=limits)


def test_a_renamed_program_is_stored_with_its_sniffed_type_and_held():
    m = _mail()
    m.add_attachment(PE, maintype="application", subtype="pdf", filename="lasku.pdf")
    [a] = _inbound(m).attachments
    assert a.content_type == "application/x-msdownload" and a.data == PE
    held = read_reason(a.quarantine_reason)
    assert held == Reason("disguised", {"what": Reason("program.pe"), "suffix": ".pdf"})
    assert held is not None and not held.not_stored


def test_parts_over_the_limits_are_listed_without_their_bytes():
    m = _mail()
    m.add_attachment(b"%PDF-" + b"1" * 2000, maintype="application", subtype="pdf",
                     filename="iso.pdf")
    m.add_attachment(b"%PDF-" + b"2" * 900, maintype="application", subtype="pdf",
                     filename="a.pdf")
    m.add_attachment(b"%PDF-" + b"3" * 900, maintype="application", subtype="pdf",
                     filename="b.pdf")
    big, first, second = _inbound(m, Limits(file=1000, message=1500)).attachments
    assert (big.data, big.size, big.filename) == (b"", 2005, "iso.pdf")
    assert read_reason(big.quarantine_reason) == Reason("too_large.file",
                                                        {"size": 2005, "limit": 1000})
    assert first.quarantine_reason is None and len(first.data) == 905
    assert second.data == b"" and second.size == 905
    left_out = read_reason(second.quarantine_reason)
    assert left_out == Reason("too_large.message", {"size": 905, "limit": 1500})
    assert left_out is not None and left_out.not_stored


def test_a_forwarded_mail_keeps_its_bytes_and_its_text():
    inner = EmailMessage()
    inner["From"], inner["To"] = "Isännöinti Oy <isannointi@example.fi>", "matti@example.com"
    inner["Subject"], inner["Date"] = "Maksumuistutus", "Mon, 03 Nov 2025 10:12:00 +0200"
    inner.set_content("Vuokranne 850 € on erääntynyt 1.11.2025.")
    m = _mail("VL: Maksumuistutus")
    m.set_content("Sain tämän, mitä teen?")
    m.add_attachment(inner)
    got = _inbound(m)
    [a] = got.attachments
    assert a.filename == "Maksumuistutus.eml" and a.content_type == "message/rfc822"
    assert len(a.data) > 100
    assert "Maksumuistutus" in a.data.decode("utf-8", "replace")
    assert a.quarantine_reason is None
    assert got.text.startswith("Sain tämän, mitä teen?")
    forwarded = got.text[got.text.index(FORWARDED):]
    assert "From: Isännöinti Oy <isannointi@example.fi>" in forwarded
    assert "Subject: Maksumuistutus" in forwarded and "Date: Mon, 03 Nov 2025" in forwarded
    assert "Vuokranne 850 € on erääntynyt" in forwarded
    assert got.subject == "Maksumuistutus"
    assert quoted_from(got.text) is None  # forwarded content is content, not history


def test_a_forwarded_mail_that_carries_a_program_is_held():
    inner = EmailMessage()
    inner["From"], inner["Subject"] = "x@example.net", "Lasku"
    inner.set_content("Avaa liite")
    inner.add_attachment(PE, maintype="application", subtype="pdf", filename="lasku.pdf")
    m = _mail()
    m.add_attachment(inner)
    [a] = _inbound(m).attachments
    assert read_reason(a.quarantine_reason) == Reason("forwarded", {
        "inner": Reason("disguised", {"what": Reason("program.pe"), "suffix": ".pdf"}),
        "name": "lasku.pdf"})


@pytest.mark.parametrize(("raw", "clean"), [
    ("VS: Re: Vuokra", "Vuokra"), ("Re: VS: Re: Vuokra", "Vuokra"), ("RE: vuokra", "vuokra"),
    ("Vs: SV: Sv: Hyresskuld", "Hyresskuld"), ("Fwd: FW: Fw: rent", "rent"),
    ("VL: Vl: VB: AW: Häätö", "Häätö"), ("Re[2]: Vuokra", "Vuokra"), ("Vuokra", "Vuokra"),
    ("Revontulentie 5", "Revontulentie 5"), ("Vsk-asia", "Vsk-asia"),
])
def test_reply_and_forward_prefixes_are_dropped(raw: str, clean: str):
    assert clean_subject(raw) == clean


def test_a_reply_says_re_once():
    assert reply_subject("VS: Re: Vuokra") == "Re: Vuokra"
    assert reply_subject(None) == "Re: Asumisneuvonta"
    assert reply_subject("Re:") == "Re: Asumisneuvonta"


OUTLOOK_FI = (
    "Hei,\r\n\r\nkiitos vastauksesta. Maksan velan kahdessa erässä.\r\n\r\nTerveisin\r\nMatti\r\n"
    "\r\n"
    "________________________________\r\n"
    "Lähettäjä: Asumisneuvonta <asumisneuvonta@hel.fi>\r\n"
    "Lähetetty: maanantai 3. marraskuuta 2025 10.12\r\n"
    "Vastaanottaja: Matti Meikäläinen <matti@example.com>\r\n"
    "Aihe: Re: Vuokra\r\n\r\n"
    "Hei Matti, ottakaa yhteyttä isännöitsijään.\r\n")
GMAIL_EN = (
    "Thanks, I will call them tomorrow.\n\n"
    "On Mon, 3 Nov 2025 at 10:12, Asumisneuvonta <asumisneuvonta@hel.fi>\nwrote:\n\n"
    "> Hi Matti,\n>\n> please contact your landlord.\n")
GMAIL_FI = (
    "Selvä, kiitos!\n\nma 3.11.2025 klo 10.12 Asumisneuvonta <asumisneuvonta@hel.fi> "
    "kirjoitti:\n\n> Hei Matti,\n> soittakaa isännöitsijälle.\n")
GMAIL_SV = (
    "Tack!\n\nDen mån 3 nov. 2025 kl 10:12 skrev Asumisneuvonta <asumisneuvonta@hel.fi>:\n"
    "> Hej Matti,\n")
OUTLOOK_EN = (
    "See below.\n\n-----Original Message-----\nFrom: Landlord <l@example.fi>\n"
    "Sent: Monday, November 3, 2025 10:12 AM\nTo: Matti\nSubject: Rent\n\nPay now.\n")
OUTLOOK_SV = (
    "Se nedan.\n\nFrån: Hyresvärden <h@example.fi>\nSkickat: den 3 november 2025 10:12\n"
    "Till: Matti\nÄmne: Hyra\n\nBetala.\n")
OUTLOOK_FI_MOBILE = (
    "Tässä viesti.\n\nLähetetty: 3.11.2025 10.12\nLähettäjä: Isännöitsijä <i@example.fi>\n"
    "Aihe: Vuokra\n\nMaksakaa.\n")
ORIGINAL_FI = "Katso alta.\n\n-----Alkuperäinen viesti-----\nLähettäjä: x\n\nTeksti\n"


@pytest.mark.parametrize(("text", "marker"), [
    (OUTLOOK_FI, "________________________________"),
    (GMAIL_EN, "On Mon, 3 Nov 2025"),
    (GMAIL_FI, "ma 3.11.2025 klo 10.12"),
    (GMAIL_SV, "Den mån 3 nov."),
    (OUTLOOK_EN, "-----Original Message-----"),
    (OUTLOOK_SV, "Från: Hyresvärden"),
    (OUTLOOK_FI_MOBILE, "Lähetetty: 3.11.2025"),
    (ORIGINAL_FI, "-----Alkuperäinen viesti-----"),
    ("Vastaan alle.\n> lainattu rivi\n> toinen\n", "> lainattu rivi"),
])
def test_quoted_history_starts_where_the_client_put_it(text: str, marker: str):
    assert quoted_from(text) == text.index(marker)


@pytest.mark.parametrize("text", [
    "Hei, minulla on vuokravelkaa 1200 €. Kivihaantie 5, 00320 Helsinki.",
    "> lainaan isännöitsijää:\nvastaan tässä välissä\n> toinen lainaus\nja tässä",
    "On Mon, 3 Nov 2025 Ville wrote:\n> only history, nothing new\n",  # nothing to show first
    "Aihe: vuokra\nSisältö: velkaa on",
])
def test_no_history_found_where_there_is_none(text: str):
    assert quoted_from(text) is None


def test_a_mails_structure_is_parsed_once_and_nothing_personal_is_kept():
    """Headers read again and again (Content-Type) are parsed once, as one object; a
    header naming a person or a file is parsed afresh each time and kept nowhere."""
    from channels.email.parse import PARSED, read_message

    def raw(sender: str, filename: str) -> bytes:
        m = _mail()
        m.replace_header("From", f"{sender} <asukas@example.com>")
        m.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf",
                         filename=filename)
        return bytes(m)

    first = read_message(raw("Matti Meikäläinen", "matti_vuokra.pdf"))
    assert first["MIME-Version"] is first["MIME-Version"]  # parsed once, the same object
    second = read_message(raw("Aino Virtanen", "aino_vuokra.pdf"))
    for part in second.walk():
        part.get_content_type(), part.get_filename()
    assert second["From"] is not second["From"]  # read afresh each time
    kept = " ".join(value for _, value in PARSED)
    assert "multipart/mixed" in kept and "text/plain" in kept
    assert not any(word in kept.lower() for word in ("aino", "matti", "vuokra", "apua"))
    assert [p.get_filename() for p in second.iter_attachments()] == ["aino_vuokra.pdf"]
