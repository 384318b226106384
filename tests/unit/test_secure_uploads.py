"""The secure portal takes documents and pictures by the mail's rule (inbox.attachments.judge):
the sniffed type must be one it accepts, and nothing the mail would hold gets in."""

from __future__ import annotations

import io
import zipfile

import pytest

from web.secure import accepted_type

PE = b"MZ\x90\x00" + b"\x00" * 56 + (64).to_bytes(4, "little") + b"PE\x00\x00" + b"\x00" * 200
OLE_HEAD = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


DOCX = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
DOCM = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>",
             "word/vbaProject.bin": OLE_HEAD})
ODS = _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b""})


@pytest.mark.parametrize(("name", "data", "kind"), [
    ("lasku.pdf", b"%PDF-1.7\n", "application/pdf"),
    ("kuva.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    ("kuva", b"\x89PNG\r\n\x1a\n\x00", "image/png"),  # the bytes decide, not the name
    ("sopimus.docx", DOCX,
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("laskelma.ods", ODS, "application/vnd.oasis.opendocument.spreadsheet"),
    ("vanha.doc", OLE_HEAD + "WordDocument".encode("utf-16-le"), "application/msword"),
    ("viesti.txt", "Hei, tässä selvitys.\n".encode(), "text/plain"),
])
def test_documents_and_pictures_are_taken_with_their_sniffed_type(name: str, data: bytes,
                                                                  kind: str):
    assert accepted_type(name, data) == kind


@pytest.mark.parametrize(("name", "data"), [
    ("lasku.pdf", PE),  # an .exe renamed .pdf
    ("lasku.pdf", b"MZ\x90\x00" + b"\x00" * 100),  # a DOS stub
    ("sopimus.docx", DOCM),  # macros
    ("sopimus.docm", DOCX),  # a macro-enabled suffix
    ("vanha.doc", OLE_HEAD + "WordDocument".encode("utf-16-le")
     + "_VBA_PROJECT".encode("utf-16-le")),
    ("lasku.js", b"var x = 1;"),  # text, but Windows runs it
    ("paketti.zip", _zip({"lasku.pdf": b"%PDF-"})),  # archives are not taken at all
    ("lasku.pdf", _zip({"mimetype": b"application/pdf", "x": b""})),  # a zip saying PDF
    ("sivu.txt", b"<!DOCTYPE html><script>alert(1)</script>"),
    ("skripti.txt", b"#!/bin/sh\nrm -rf ~\n"),
    ("kuva.png", b"\x00\x01\x02\x03"),
])
def test_programs_macros_archives_and_the_unknown_are_refused(name: str, data: bytes):
    assert accepted_type(name, data) is None
