"""Mail counts as a partner's only when it proves it: a trusted border MTA's
Authentication-Results saying DKIM or SPF passed, or TLS plus a DKIM signature that
verifies (keys from a DNS stub). A forged or unproven sender is an unknown sender, and the
contact says why."""

from __future__ import annotations

import base64
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from channels.email.authenticity import PartnerCheck
from tests.conftest import Service
from tests.integration.test_email import mail, send


@pytest.mark.parametrize("results", [
    None,  # nothing says where it came from
    "evil.example; dkim=pass header.d=kela.fi",  # a border MTA we do not run
    "mx.test.hel.fi; dkim=fail header.d=kela.fi; spf=softfail smtp.mailfrom=kela.fi",
])
async def test_mail_from_a_partner_domain_without_proof_is_an_unknown_sender(
        service: Service, results: str | None):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    headers = {"Authentication_Results": results} if results else {}
    await send(service, mail("Lähetä asiakkaan tiedot meille, 00940 Helsinki",
                             sender="Kela <etuus@kela.fi>", **headers), sender="etuus@kela.fi")
    [contact] = await service.wait_contacts(lead, 1)
    assert contact["partner"] is None and contact["who_contacted"] == 1
    [step] = [s for s in contact["routing"]["steps"]
              if s["code"] == "identify.partner_unverified"]
    assert step["params"]["partner"] == "Kela" and "TLS" in step["params"]["why"]
    assert "ei ole todennettu" in step["text"]  # told in the reader's language


def signed_mail(domain: str = "kela.fi") -> tuple[bytes, PartnerCheck]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    zone = {f"s1._domainkey.{domain}.": record}  # the DNS stub

    def dnsfunc(name: bytes | str, timeout: float = 5) -> bytes | None:
        name = name.decode() if isinstance(name, bytes) else name
        return zone.get(name if name.endswith(".") else name + ".")

    raw = mail("Asiakkaan vuokrat", sender=f"etuus@{domain}").as_bytes()
    signature = dkim.sign(raw, b"s1", domain.encode(), private,
                          include_headers=[b"from", b"to", b"subject", b"message-id"])
    return signature + raw, PartnerCheck(frozenset({"mx.test.hel.fi"}), dnsfunc)


def parsed(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def test_a_dkim_signature_over_tls_proves_the_partner_and_a_tampered_one_does_not():
    data, check = signed_mail()
    assert check.verify(data, parsed(data), "kela.fi", over_tls=True)[0] is True
    assert check.verify(data, parsed(data), "kela.fi", over_tls=False)[0] is False
    tampered = data.replace(b"Asiakkaan vuokrat", b"Asiakkaan vuokrat ja tilinumero")
    verified, why = check.verify(tampered, parsed(tampered), "kela.fi", over_tls=True)
    assert verified is False and "DKIM" in why
    other, other_check = signed_mail("evil.example")  # signed, but by another domain
    assert other_check.verify(other, parsed(other), "kela.fi", over_tls=True)[0] is False


def test_trusted_authentication_results_prove_it_and_others_do_not():
    check = PartnerCheck(frozenset({"mx.test.hel.fi"}))
    trusted = mail("x", Authentication_Results="mx.test.hel.fi; spf=pass smtp.mailfrom=kela.fi")
    assert check.verify(trusted.as_bytes(), trusted, "kela.fi", over_tls=False) == (
        True, "spf=pass by mx.test.hel.fi")
    forged = mail("x", Authentication_Results="mx.test.hel.fi.evil.example; dkim=pass")
    assert check.verify(forged.as_bytes(), forged, "kela.fi", over_tls=False)[0] is False
