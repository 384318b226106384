"""Real mail is messier than tests: broken structures still give their text and files.

"Unparsed" is for bytes that are not mail at all; everything else becomes a contact.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from channels.email.parse import Unparseable, inbound_from, read_message
from inbox.inbound import Inbound

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
PDF_B64 = "JVBERi0xLjQKJeLjz9MK"


def parsed(data: bytes, envelope_sender: str | None = None) -> Inbound:
    return inbound_from(read_message(data), 1, "key", datetime.now(UTC),
                        envelope_sender=envelope_sender)


def test_a_multipart_without_a_boundary_parameter_is_read_by_the_boundary_it_uses():
    got = parsed(b"From: a@example.com\r\nSubject: Vuokra\r\nMIME-Version: 1.0\r\n"
                 b"Content-Type: multipart/mixed\r\n\r\n--XYZ\r\nContent-Type: text/plain\r\n"
                 b"\r\nVuokra on r\xc3\xa4stiss\xc3\xa4\r\n--XYZ\r\n"
                 b"Content-Type: application/pdf; name=lasku.pdf\r\n"
                 b"Content-Transfer-Encoding: base64\r\n\r\n" + PDF_B64.encode()
                 + b"\r\n--XYZ--\r\n")
    assert got.text == "Vuokra on rästissä"
    assert [(a.filename, a.content_type, a.data) for a in got.attachments] == [
        ("lasku.pdf", "application/pdf", PDF)]
    assert got.sender_email == "a@example.com" and got.subject == "Vuokra"


def test_a_multipart_whose_declared_boundary_never_appears_still_gives_its_text():
    got = parsed(b"From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                 b'Content-Type: multipart/mixed; boundary="ABC"\r\n\r\n--XYZ\r\n'
                 b"Content-Type: text/plain\r\n\r\nVuokra on myohassa\r\n--XYZ--\r\n")
    assert got.text == "Vuokra on myohassa"


def test_a_multipart_with_no_parts_at_all_is_read_as_plain_text():
    got = parsed(b"From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                 b"Content-Type: multipart/alternative\r\n\r\nVuokra on r\xe4stiss\xe4\r\n")
    assert got.text == "Vuokra on rästissä"


def test_outlook_express_nesting_gives_the_text_and_the_file_typed_by_content():
    got = parsed((Path(__file__).parent.parent / "data" / "outlook_express.eml").read_bytes())
    assert got.text == "Vuokra on rästissä, 00320 Helsinki."
    assert got.subject == "Vuokra rästissä"
    assert got.html is not None and "rästissä" in got.html
    [pdf] = got.attachments
    assert (pdf.filename, pdf.content_type, pdf.data) == ("lasku.pdf", "application/pdf", PDF)


def test_a_body_that_is_only_a_scanned_letter_is_one_attachment():
    got = parsed(b"From: kela@kela.fi\r\nSubject: Skannaus\r\nMIME-Version: 1.0\r\n"
                 b"Content-Type: application/pdf; name=kirje.pdf\r\n"
                 b"Content-Transfer-Encoding: base64\r\n\r\n" + PDF_B64.encode() + b"\r\n")
    assert got.text == ""
    assert [(a.filename, a.data) for a in got.attachments] == [("kirje.pdf", PDF)]


EVERY_HEADER_MALFORMED = (
    b"From: <<<@@@>>>\r\nTo: ;;;\r\nSubject: =?bogus?Q?=ZZ?=\r\nDate: yesterday-ish\r\n"
    b"Message-ID: not an id\r\nContent-Type: text/; charset=\"\r\n"
    b"Content-Transfer-Encoding: base65\r\nIn-Reply-To: <<<\r\nMIME-Version: x\r\n\r\n"
    b"Vuokra on r\xe4stiss\xe4\r\n")


def test_a_mail_whose_every_header_is_malformed_keeps_its_text_and_the_envelope_sender():
    got = parsed(EVERY_HEADER_MALFORMED, envelope_sender="matti@example.com")
    assert got.text == "Vuokra on rästissä"
    assert got.sender_email == "matti@example.com"
    assert got.channel_message_id is None and got.thread_ids == ()


def test_with_no_address_anywhere_it_is_still_a_contact_with_nobody_to_answer():
    got = parsed(EVERY_HEADER_MALFORMED)
    assert got.sender_email is None
    assert got.text == "Vuokra on rästissä"


def test_reply_to_or_sender_stands_in_for_a_broken_from():
    got = parsed(b"From: Matti Meikalainen\r\nReply-To: matti@example.com\r\nSubject: x\r\n"
                 b"\r\nHei\r\n")
    assert (got.sender_email, got.sender_name) == ("matti@example.com", "Matti Meikalainen")


@pytest.mark.parametrize("data", [b"\x00\x01\x02garbage\xff\xfe",
                                  b"this is not a header line\r\n\r\nHello\r\n", b""])
def test_bytes_that_are_not_mail_at_all_are_unparsed(data: bytes):
    with pytest.raises(Unparseable):
        parsed(data)
