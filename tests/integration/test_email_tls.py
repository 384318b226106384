"""STARTTLS on the listener, and partners' mail refused unless it comes over TLS."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from tests.conftest import Service
from tests.integration.test_email import PARTNER_PASS, SERVICE, mail


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_service(service: Service, ca: trustme.CA, tmp_path: Path
                      ) -> AsyncIterator[Service]:
    """The same service restarted with a certificate for 127.0.0.1."""
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    await service.restart(YHTEYS_SMTP_TLS_CERT=str(cert_file),
                          YHTEYS_SMTP_TLS_KEY=str(key_file))
    yield service


def _send(port: int, sender: str, context: ssl.SSLContext | None) -> dict:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        if context is not None:
            client.starttls(context=context)
        m = mail("Asiakkaamme vuokrat, 00940 Helsinki", sender=sender,
                 message_id=f"<{sender}-{context is not None}@kela.fi>",
                 Authentication_Results=PARTNER_PASS)
        return client.send_message(m, from_addr=sender, to_addrs=[SERVICE])


async def test_partner_mail_in_clear_is_refused_and_over_tls_accepted(
        tls_service: Service, ca: trustme.CA):
    lead = tls_service.add_staff("lead@hel.fi", [], role="lead")
    port = tls_service.smtp_port
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await asyncio.to_thread(_send, port, "etuudet@kela.fi", None)
    assert refused.value.smtp_code == 530 and refused.value.smtp_error.startswith(b"5.7.0")
    context = ssl.create_default_context()
    ca.configure_trust(context)
    assert await asyncio.to_thread(_send, port, "etuudet@kela.fi", context) == {}
    [contact] = await tls_service.wait_contacts(lead, 1)
    assert contact["partner"] == "Kela" and contact["area"] == "itainen"


async def test_residents_may_still_write_without_tls(tls_service: Service):
    lead = tls_service.add_staff("lead@hel.fi", [], role="lead")
    await asyncio.to_thread(_send, tls_service.smtp_port, "matti@example.com", None)
    await tls_service.wait_contacts(lead, 1)
