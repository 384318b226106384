"""The SMTP edge: check recipients, store the raw message durably, then say 250."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from email.parser import BytesHeaderParser
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from inbox.ports import JobQueue
from inbox.raw import store_raw
from inbox.store import Store
from router.identify import normalise_email

log = logging.getLogger(__name__)

OK = "250 2.0.0 OK"
RCPT_OK = "250 2.1.5 Recipient OK"
UNKNOWN_RECIPIENT = "550 5.1.1 No such mailbox here; write to {address}"
BAD_ADDRESS = "553 5.1.3 That is not a valid mail address"
TOO_BIG = "552 5.3.4 Message exceeds the size limit of {limit} bytes"
TRY_LATER = "451 4.3.0 Could not store the message; please try again later"
SENDER_OK = "250 2.1.0 Sender OK"
TLS_FIRST = "530 5.7.0 Mail from {domain} must be sent over STARTTLS"
# aiosmtpd's own fixed replies, given the enhanced status codes of RFC 3463.
_ENHANCED = {
    "552 Error: Too much mail data": TOO_BIG,
    "552 Error: message size exceeds fixed maximum message size": TOO_BIG,
}


class YhteysSMTP(SMTP):
    """aiosmtpd's server with enhanced status codes on its built-in size replies."""

    async def push(self, status: Any) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        if text in _ENHANCED:
            text = _ENHANCED[text].format(limit=self.data_size_limit)
        await super().push(text)


TRACE_HEADERS = re.compile(
    rb"^(received|return-path|delivered-to|x-original-to|authentication-results|arc-[a-z-]+"
    rb"|x-spam-[a-z-]+|x-virus-[a-z-]+):[^\n]*\n(?:[ \t][^\n]*\n)*",
    re.IGNORECASE | re.MULTILINE)


def idempotency_key(content: bytes) -> str:
    """Message-ID plus a hash of what the message is: a redelivery is recognised (also with
    one more Received: line on its way), a reused id is not merged. Both parts are hashed,
    so a Message-ID of any length fits the key."""
    headers = BytesHeaderParser().parsebytes(content)  # compat32: fast, and enough here
    message_id = str(headers.get("Message-ID", "") or "").strip()
    split = content.find(b"\r\n\r\n")
    split = content.find(b"\n\n") if split < 0 else split
    head, body = (content[:split], content[split:]) if split >= 0 else (content, b"")
    head = TRACE_HEADERS.sub(b"", head.replace(b"\r\n", b"\n") + b"\n")
    digest = hashlib.sha256(head + body.replace(b"\r\n", b"\n")).hexdigest()
    return f"email:{hashlib.sha256(message_id.encode()).hexdigest()[:32]}:{digest}"


class EmailHandler:
    """aiosmtpd hooks: RCPT checks the recipient, DATA commits then acknowledges."""

    def __init__(self, store: Store, jobs: JobQueue, accepts: Callable[[str], bool],
                 service_address: str, tls_only_domains: frozenset[str] = frozenset()):
        self.store = store
        self.jobs = jobs
        self.accepts = accepts
        self.service_address = service_address
        # Partners whose mail carries personal data must not cross the network in clear.
        self.tls_only_domains = tls_only_domains

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        """Advertise RFC 2034: our replies carry enhanced status codes."""
        session.host_name = hostname
        return [*responses[:-1], "250-ENHANCEDSTATUSCODES", responses[-1]]

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        domain = address.rpartition("@")[2].lower()
        if domain in self.tls_only_domains and session.ssl is None:
            return TLS_FIRST.format(domain=domain)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return SENDER_OK

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        normalised = normalise_email(address)
        if normalised is None:
            return BAD_ADDRESS
        if not self.accepts(normalised):
            return UNKNOWN_RECIPIENT.format(address=self.service_address)
        envelope.rcpt_tos.append(normalised)
        return RCPT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "peer": str(session.peer[0]) if session.peer else None}
        try:
            raw_id, created = await self.store.call(
                store_raw, "email", idempotency_key(content), meta, content
            )
        except Exception:
            log.exception("storing inbound mail failed")
            return TRY_LATER
        if created:
            self.jobs.enqueue("email.process", raw_id, job_id=f"email-process-{raw_id}")
        return f"{OK} queued as {raw_id}"
