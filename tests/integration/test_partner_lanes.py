"""Partner lanes: mail to Kela or Heka leaves only over verified TLS to the relay (and asks
for REQUIRETLS when offered); without TLS, or with a certificate that does not verify, it
is held as failed with the reason, never sent in clear and never as a portal link."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from tests.conftest import Service, free_port, peer_loop
from tests.integration.test_email import PARTNER_PASS, mail, send


class RequireTLSServer(SMTP):
    """aiosmtpd refuses MAIL parameters it does not know: take REQUIRETLS (RFC 8689)."""

    requiretls = False

    async def smtp_MAIL(self, arg: str | None) -> None:
        if arg and re.search(r"(?i)\sREQUIRETLS\b", arg):
            self.requiretls, arg = True, re.sub(r"(?i)\s+REQUIRETLS\b", "", arg)
        await super().smtp_MAIL(arg)


class TLSRelayController(Controller):
    def factory(self) -> SMTP:
        return RequireTLSServer(self.handler, **self.SMTP_kwargs)


class TLSRelay:
    """A relay that speaks STARTTLS with a certificate of a private CA, and records."""

    def __init__(self, ca: trustme.CA):
        self.port = free_port()
        self.received: list[tuple[bool, bool]] = []  # (over TLS, REQUIRETLS asked)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.controller = TLSRelayController(self, hostname="127.0.0.1", port=self.port,
                                             tls_context=context, require_starttls=True,
                                             loop=peer_loop())

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [*responses[:-1], "250-REQUIRETLS", responses[-1]]

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append((session.ssl is not None, server.requiretls))
        return "250 2.0.0 OK"


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_relay(ca: trustme.CA) -> Iterator[TLSRelay]:
    relay = TLSRelay(ca)
    relay.controller.start()
    yield relay
    relay.controller.stop()


async def reply_to_kela(service: Service, **env: str) -> dict:
    """Restart with `env` (jobs in this process, so they see it), receive a Kela mail,
    answer it, and return the reply's delivery once it is sent or failed."""
    await service.restart(YHTEYS_REDIS_URL="", **env)
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await send(service, mail("Asiakkaan vuokravelka, 00940 Helsinki",
                             sender="Kela <etuus@kela.fi>", message_id="<kela1@kela.fi>",
                             Authentication_Results=PARTNER_PASS),
               sender="etuus@kela.fi")
    [contact] = await service.wait_contacts(lead, 1)
    assert contact["partner"] == "Kela"
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies", {"text": "Kiitos"},
                            lead, status=201)
    detail = await service.wait_detail(contact["id"], lead, lambda d: d["messages"][-1][
        "delivery"]["state"] in ("sent", "failed"))
    return dict(detail["messages"][-1]["delivery"])


def tls_env(relay: TLSRelay, ca_file: Path) -> dict[str, str]:
    return {"YHTEYS_SMTP_RELAY": f"127.0.0.1:{relay.port}", "YHTEYS_SMTP_RELAY_TLS": "starttls",
            "YHTEYS_SMTP_RELAY_CA": str(ca_file)}


async def test_mail_to_a_partner_is_held_without_tls_to_the_relay(service: Service):
    delivery = await reply_to_kela(service)
    assert delivery["state"] == "failed" and "held, not sent" in delivery["error"]
    assert "TLS" in delivery["error"] and delivery["attempts"] == 1
    assert service.relay.messages == []  # nothing in clear


async def test_mail_to_a_partner_leaves_over_verified_tls_with_requiretls(
        service: Service, ca: trustme.CA, tls_relay: TLSRelay, tmp_path: Path):
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    delivery = await reply_to_kela(service, **tls_env(tls_relay, ca_file))
    assert delivery["state"] == "sent"
    assert tls_relay.received == [(True, True)]


async def test_a_relay_certificate_that_does_not_verify_holds_the_mail(
        service: Service, tls_relay: TLSRelay, tmp_path: Path):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    delivery = await reply_to_kela(service, **tls_env(tls_relay, other))
    assert delivery["state"] == "failed" and "held, not sent" in delivery["error"]
    assert tls_relay.received == []
