"""What the database holds at rest: read the SQLite file (and its WAL) or a pg_dump after
mail, chat and a callback that carry an identity code, and find the code nowhere; the raw
mail's own bytes (here a header only the raw mail has) are sealed, attachments too, and
still open for a counsellor who downloads one."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from inbox.crypto import Sealer, SealError
from tests.conftest import BACKEND, Service
from tests.integration.chat_client import ChatResident
from tests.integration.test_email import mail, send

HETU = "131052-308T"
MARKER = "X-Only-In-The-Raw-Mail: tarkistus-4711"
PDF = b"%PDF-1.4 hakemus " + HETU.encode() + b" %%EOF"


def database_bytes(service: Service) -> bytes:
    url = service.settings.database_url
    if BACKEND == "postgres":
        parsed = urlparse(os.environ["YHTEYS_TEST_PG_URL"].replace("+psycopg", ""))
        pg_dump = shutil.which("pg_dump") or sorted(
            Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))[-1]
        return subprocess.run(
            [str(pg_dump), "-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port),
             "-U", parsed.username or "yhteys", "--data-only", parsed.path.lstrip("/")],
            check=True, capture_output=True).stdout
    path = Path(url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


async def test_no_identity_code_and_no_raw_mail_in_clear_at_rest(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    service.add_staff("irma@hel.fi", ["itainen"])
    message = mail(f"Hetuni on {HETU}. Vuokra rästissä, 00320 Helsinki.",
                   subject=f"Hakemus {HETU}")
    message["X-Only-In-The-Raw-Mail"] = "tarkistus-4711"
    message.add_attachment(PDF, maintype="application", subtype="pdf",
                           filename=f"hakemus {HETU}.pdf")
    await send(service, message)
    resident = await ChatResident(service).connect()
    await resident.call("start", {"postal_code": "00940", "language": "fi",
                                  "text": f"Henkilötunnukseni {HETU}", "name": HETU})
    await resident.close()
    await service.post_json("/api/v1/callbacks", {
        "phone": "040 123 4567", "postal_code": "00940", "language": "fi",
        "text": f"Soittakaa, hetu {HETU}"}, status=201)
    items = await service.wait_contacts(lead, 3)
    [email] = [c for c in items if c["channel"] == "email"]
    detail = await service.get_json(f"/api/v1/contacts/{email['id']}", lead)
    attachment = detail["messages"][0]["attachments"][0]
    dumped = await asyncio.to_thread(database_bytes, service)
    for needle in (HETU, HETU.replace("-", ""), MARKER.split(": ")[1]):
        for form in (needle.encode(), needle.encode("utf-16-le"),
                     needle.encode().hex().encode()):  # pg_dump writes bytea as hex
            assert form not in dumped, f"{needle} is stored in clear"
    assert b"enc:aesgcm:" in dumped or b"enc:aesgcm:".hex().encode() in dumped
    assert attachment["size"] == len(PDF)


async def test_an_attachment_opens_for_the_counsellor_and_a_tampered_one_never(
        service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    message = mail("Liitteenä tiliote, 00320 Helsinki")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="tiliote.pdf")
    await send(service, message)
    [contact] = await service.wait_contacts(lead, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    aid = detail["messages"][0]["attachments"][0]["id"]
    async with service.http.get(
            f"{service.url}/contacts/{contact['id']}/attachments/{aid}",
            headers=service.auth(lead)) as r:
        assert r.status == 200 and await r.read() == PDF
    sealer = Sealer(b"test-secret-key")
    sealed = sealer.seal(PDF, b"attachments.data")
    assert sealer.open(sealed, b"attachments.data") == PDF
    with pytest.raises(SealError):  # tampered
        sealer.open(sealed[:-1] + bytes([sealed[-1] ^ 1]), b"attachments.data")
    with pytest.raises(SealError):  # moved to another column
        sealer.open(sealed, b"raw_inbound.data")
    with pytest.raises(SealError):  # a key we no longer hold
        Sealer(b"another-secret").open(sealed, b"attachments.data")
    rotated = Sealer(b"new-secret", retired=[b"test-secret-key"])
    assert rotated.open(sealed, b"attachments.data") == PDF and not rotated.is_current(sealed)
