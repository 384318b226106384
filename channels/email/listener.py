"""The SMTP edge: check recipients, store the raw message durably, then say 250."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import re
from collections import Counter
from collections.abc import Callable
from email.parser import BytesHeaderParser
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email.intake import MailIntake
from channels.email.smtp_address import plain_address
from inbox.ports import JobQueue
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
TOO_MANY = "421 4.7.0 Too many connections, try again later"
IDLE = "421 4.4.2 Idle for too long, closing connection"
INTERNAL_ERROR = "451 4.3.0 Local error in processing; please try again later"
BAD_SENDER = "553 5.1.7 That sender address is not valid UTF-8"

# aiosmtpd 1.4's own replies (aiosmtpd/smtp.py), given the enhanced status codes of RFC 3463
# that RFC 2034 asks for once ENHANCEDSTATUSCODES is advertised. Exact texts first ...
_ENHANCED = {
    "250 OK": "250 2.0.0 OK",
    "221 Bye": "221 2.0.0 Bye",
    "220 Ready to start TLS": "220 2.0.0 Ready to start TLS",
    "252 Cannot VRFY user, but will accept message and attempt delivery":
        "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery",
    "500 Command line too long": "500 5.5.2 Line too long",
    "500 Line too long (see RFC5321 4.5.3.1.6)":
        "500 5.5.2 Line too long (RFC 5321 4.5.3.1.6: at most 1000 octets a line)",
    "500 Error: bad syntax": "500 5.5.2 Syntax error",
    "500 Error: strict ASCII mode": "500 5.6.7 Only ASCII is accepted here",
    "500 Error: command 'AUTH' not recognized": "500 5.5.1 AUTH needs EHLO first",
    "454 TLS not available": "454 4.7.0 TLS not available",
    "554 Command refused due to lack of security":
        "554 5.7.0 Command refused due to lack of security",
    "552 Error: Too much mail data": TOO_BIG,
    "552 Error: message size exceeds fixed maximum message size": TOO_BIG,
}
# ... then texts with a variable part ...
_ENHANCED_PATTERNS = (
    (re.compile(r'500 Error: command ".*" not recognized'), "500 5.5.1 Command not recognized"),
    (re.compile(r"502 Could not VRFY .*"), "502 5.1.3 Could not VRFY that address"),
    (re.compile(r"(250) (Syntax: |Supported commands: )(.*)"), r"\1 2.0.0 \2\3"),
)
# ... and every other refusal the RFC 3463 code its reply code usually carries.
_DEFAULT_DETAIL = {"500": "5.5.2", "501": "5.5.4", "502": "5.5.1", "503": "5.5.1",
                   "504": "5.5.4", "530": "5.7.0", "555": "5.5.4"}
_HAS_DETAIL = re.compile(r"^[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}(?: |$)")
_REFUSAL = re.compile(r"^([45])(\d\d) (.*)$", re.DOTALL)


def enhanced(text: str, size_limit: int | None = None) -> str:
    """`text` as sent with an RFC 3463 enhanced status code: aiosmtpd's own replies get
    theirs, a 4xx/5xx without one gets its reply code's usual one (X.0.0 at least)."""
    if _HAS_DETAIL.match(text):
        return text
    if text in _ENHANCED:
        return _ENHANCED[text].format(limit=size_limit)
    for pattern, replacement in _ENHANCED_PATTERNS:
        if pattern.fullmatch(text):
            return pattern.sub(replacement, text)
    refusal = _REFUSAL.match(text)
    if refusal:
        klass, rest, wording = refusal.groups()
        detail = _DEFAULT_DETAIL.get(klass + rest, f"{klass}.0.0")
        return f"{klass}{rest} {detail} {wording}"
    return text  # the greeting, HELO/EHLO lines and 354 carry none (RFC 2034 section 3)


class YhteysSMTP(SMTP):
    """aiosmtpd's server with enhanced status codes on every reply, an idle timeout that
    counts any bytes received as activity (also inside DATA), a 421 before an idle session
    is closed, a callback when the connection is gone (for the connection limits), and
    plain addresses read without aiosmtpd's costly parse."""

    on_lost: Callable[[], None] | None = None

    async def push(self, status: Any) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        await super().push(enhanced(text, self.data_size_limit))

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = plain_address(arg)  # aiosmtpd's own costs ~50 µs (smtp_address.py)
        if plain is None:
            try:
                return super()._getaddr(arg)
            except Exception:  # email's parser trips over some garbage (AttributeError,
                return None, None  # IndexError, UnboundLocalError): not an address, a 5xx
        address, rest = plain
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._last_seen = self.loop.time()
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._last_seen = self.loop.time()
        super().data_received(data)

    def _timeout_cb(self) -> None:
        # aiosmtpd's own timer restarts only on a recognised command, so a slow DATA of a
        # big mail would be cut off after `timeout` seconds; here only silence counts.
        quiet = self.loop.time() - self._last_seen
        if quiet < self._timeout_duration:
            self._reset_timeout(self._timeout_duration - quiet)
            return
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        _refuse(transport, IDLE)

    def connection_lost(self, error: Exception | None) -> None:
        try:
            super().connection_lost(error)
        finally:
            on_lost, self.on_lost = self.on_lost, None
            if on_lost is not None:
                on_lost()


def _refuse(transport: Any, reply: str) -> None:
    """Say `reply` and close; a peer that does not read its replies loses the socket at
    once instead of keeping it open until our send buffer drains."""
    if transport.get_write_buffer_size() == 0:
        transport.write(reply.encode() + b"\r\n")
    if transport.get_write_buffer_size():
        transport.abort()
    else:
        transport.close()


def client_key(peer: Any) -> str:
    """Whom a connection counts against: its IPv4 address, or its IPv6 /64 (one site)."""
    host = peer[0] if isinstance(peer, tuple) and peer else str(peer)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return str(host)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class SmtpListener:
    """The protocol factory for `loop.create_server`: at most `max_connections` sessions,
    `max_per_client` of them from one client. A connection over a limit gets `421 4.7.0`
    and is closed before any aiosmtpd session is built for it, so a flood costs one accept,
    one write and one close per connection. Refusals are logged once, then summarised at
    most once every `log_every` seconds."""

    def __init__(self, session: Callable[[], YhteysSMTP], max_connections: int,
                 max_per_client: int, log_every: float = 60.0):
        self.session = session
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self.log_every = log_every
        self.open: Counter[str] = Counter()
        self.total = 0
        self._refused: Counter[str] = Counter()
        self._summary: asyncio.TimerHandle | None = None
        _throttle_aiosmtpd_log()

    def __call__(self) -> asyncio.Protocol:
        return _Gate(self)

    def admit(self, transport: asyncio.Transport) -> None:
        key = client_key(transport.get_extra_info("peername"))
        if self.total >= self.max_connections or self.open[key] >= self.max_per_client:
            _refuse(transport, TOO_MANY)
            self._note_refusal(key)
            return
        self.total += 1
        self.open[key] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.total -= 1
                self.open[key] -= 1
                if self.open[key] <= 0:
                    del self.open[key]

        try:
            smtp = self.session()
            smtp.on_lost = release
            transport.set_protocol(smtp)
            smtp.connection_made(transport)
        except Exception:
            release()
            transport.abort()
            raise

    def _note_refusal(self, key: str) -> None:
        if self._summary is None:
            log.warning("SMTP: refusing connections from %s (%d open from it, %d in total; "
                        "limits %d per client, %d in total); further refusals are "
                        "summarised every %g s", key, self.open[key], self.total,
                        self.max_per_client, self.max_connections, self.log_every)
            self._summary = asyncio.get_running_loop().call_later(self.log_every,
                                                                  self._summarise)
            return
        self._refused[key] += 1

    def _summarise(self) -> None:
        if not self._refused:
            self._summary = None  # quiet again: the next refusal is logged at once
            return
        busiest, count = self._refused.most_common(1)[0]
        log.warning("SMTP: refused %d more connections from %d clients in %g s "
                    "(most from %s: %d)", self._refused.total(), len(self._refused),
                    self.log_every, busiest, count)
        self._refused.clear()
        self._summary = asyncio.get_running_loop().call_later(self.log_every,
                                                              self._summarise)

    def close(self) -> None:
        """Stop the refusal summary timer (the server itself is closed by its owner)."""
        if self._summary is not None:
            self._summary.cancel()
            self._summary = None


class _Throttle(logging.Filter):
    """At most `burst` warnings per `window` seconds pass; the rest are counted and the count
    is logged when the next window opens. aiosmtpd logs a warning per unrecognised command,
    so a flood of garbage sessions would otherwise flood the log. Its INFO and DEBUG lines
    (per session, naming peers and addresses) exist only if an operator turns them on
    (`yhteys serve` sets `mail.log` to WARNING) and are left alone."""

    def __init__(self, window: float = 60.0, burst: int = 20):
        super().__init__()
        self.window, self.burst = window, burst
        self.started, self.passed, self.dropped = 0.0, 0, 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        if record.created - self.started >= self.window:
            if self.dropped:
                log.warning("SMTP: %d lines of aiosmtpd's log left out in %g s",
                            self.dropped, self.window)
            self.started, self.passed, self.dropped = record.created, 0, 0
        self.passed += 1
        if self.passed > self.burst:
            self.dropped += 1
            return False
        return True


def _throttle_aiosmtpd_log() -> None:
    aiosmtpd_log = logging.getLogger("mail.log")
    if not any(isinstance(f, _Throttle) for f in aiosmtpd_log.filters):
        aiosmtpd_log.addFilter(_Throttle())


class _Gate(asyncio.Protocol):
    """The first protocol of every accepted socket: admits it to an aiosmtpd session or
    refuses it; it never sees a byte (the transport starts reading after connection_made)."""

    def __init__(self, listener: SmtpListener):
        self.listener = listener

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.listener.admit(transport)


TRACE_HEADERS = re.compile(
    rb"^(received|return-path|delivered-to|x-original-to|authentication-results|arc-[a-z-]+"
    rb"|x-spam-[a-z-]+|x-virus-[a-z-]+):[^\n]*\n(?:[ \t][^\n]*\n)*",
    re.IGNORECASE | re.MULTILINE)


# The first Message-ID of the header section as email's parser finds it (compat32), when
# it is plain: every line before it a header line or a fold (no "From " line, no bare CR,
# no empty name, no other Message-ID), and it an unfolded printable-ASCII line. Anything
# else goes to the parser: this only skips its ~35 µs for the mail nearly all mail is
# (tests/unit/test_message_id_fast.py holds the two to the same answer).
_PLAIN_MESSAGE_ID = re.compile(
    rb"(?:(?!message-id:)[\x21-\x39\x3b-\x7e]+:[^\r\n]*\r?\n|[ \t][^\r\n]*\r?\n)*"
    rb"message-id:[ \t]*([\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)[ \t]*\r?\n(?![ \t])",
    re.IGNORECASE)


def message_id_of(content: bytes) -> str:
    """The Message-ID header's value, stripped ("" when there is none)."""
    plain = _PLAIN_MESSAGE_ID.match(content)
    if plain:
        return plain.group(1).decode("ascii")
    headers = BytesHeaderParser().parsebytes(content)  # compat32: fast, and enough here
    return str(headers.get("Message-ID", "") or "").strip()


def idempotency_key(content: bytes) -> str:
    """Message-ID plus a hash of what the message is: a redelivery is recognised (also with
    one more Received: line on its way), a reused id is not merged. Both parts are hashed,
    so a Message-ID of any length fits the key."""
    message_id = message_id_of(content)
    split = content.find(b"\r\n\r\n")
    split = content.find(b"\n\n") if split < 0 else split
    head, body = (content[:split], content[split:]) if split >= 0 else (content, b"")
    head = TRACE_HEADERS.sub(b"", head.replace(b"\r\n", b"\n") + b"\n")
    digest = hashlib.sha256(head + body.replace(b"\r\n", b"\n")).hexdigest()
    return f"email:{hashlib.sha256(message_id.encode()).hexdigest()[:32]}:{digest}"


class EmailHandler:
    """aiosmtpd hooks: RCPT checks the recipient, DATA commits (with whatever other mail
    arrived meanwhile: intake.py) then acknowledges."""

    def __init__(self, store: Store, jobs: JobQueue, accepts: Callable[[str], bool],
                 service_address: str, tls_only_domains: frozenset[str] = frozenset()):
        self.intake = MailIntake(store, jobs)  # stores, commits, then queues the routing
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
        if not _is_utf8(address):  # SMTPUTF8 lets raw bytes through as surrogates
            return BAD_SENDER
        domain = address.rpartition("@")[2].lower()
        if domain in self.tls_only_domains and session.ssl is None:
            return TLS_FIRST.format(domain=domain)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return SENDER_OK

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.lower() == "postmaster":  # RFC 5321 4.5.1: also with no domain
            address = f"postmaster@{self.service_address.rpartition('@')[2]}"
        normalised = normalise_email(address) if _is_utf8(address) else None
        if normalised is None:
            return BAD_ADDRESS
        if not self.accepts(normalised):
            return UNKNOWN_RECIPIENT.format(address=self.service_address)
        envelope.rcpt_tos.append(normalised)
        return RCPT_OK

    async def handle_exception(self, error: Exception) -> str:
        """A bug in a hook: logged, and the client told to try again (not the exception)."""
        log.error("SMTP session error", exc_info=error)
        return INTERNAL_ERROR

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "peer": str(session.peer[0]) if session.peer else None,
                "tls": session.ssl is not None}
        try:
            raw_id, _ = await self.intake.store_mail(idempotency_key(content), meta, content)
        except Exception:
            return TRY_LATER  # logged where it failed
        return f"{OK} queued as {raw_id}"


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
