"""Raw RFC 5322 bytes -> Inbound: text, sanitised HTML, attachments, thread ids."""

from __future__ import annotations

import re
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from email.utils import getaddresses
from typing import Any

import bleach

from inbox.attachments import Limits, Reason, judge, reason, stored_reason
from inbox.inbound import Inbound, InboundAttachment
from inbox.quoting import FORWARDED, clean_subject

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr",
    "i", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "td": ["colspan", "rowspan"],
                      "th": ["colspan", "rowspan"]}
MESSAGE_ID = re.compile(r"<[^<>\s]+>")


class ParsedOnce(EmailPolicy):
    """The email package's default policy, but a structural header is parsed once: it
    parses a header again on every read (a mail's Content-Type thirteen times while it is
    routed), and header objects are immutable. Only headers that hold nothing personal are
    kept (a type, a charset, a boundary: not one naming a file, nor From or Subject)."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name"):  # a header object already
            return value
        if name.lower() not in STRUCTURAL or "name" in value.lower():
            return super().header_fetch_parse(name, value)
        key = (name.lower(), value)
        parsed = PARSED.get(key)
        if parsed is None:
            if len(PARSED) >= PARSED_AT_MOST:
                PARSED.clear()
            parsed = PARSED[key] = super().header_fetch_parse(name, value)
        return parsed


STRUCTURAL = frozenset({"content-type", "content-transfer-encoding", "mime-version"})
PARSED: dict[tuple[str, str], Any] = {}  # (name, value) -> its header object
PARSED_AT_MOST = 512


default_policy = ParsedOnce()


class Unparseable(ValueError):
    """The bytes are not a mail we can read; they stay stored for a person to look at."""


def sanitise_html(html: str) -> str:
    return bleach.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                        protocols={"http", "https", "mailto"}, strip=True, strip_comments=True)


def html_to_text(html: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>", "\n", html)
    text = bleach.clean(text, tags=set(), strip=True)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _address_in(header: object) -> tuple[str, str | None] | None:
    addresses = [(name, addr) for name, addr in getaddresses([str(header)]) if "@" in addr]
    if not addresses:
        return None
    name, address = addresses[0]
    return address.strip().lower(), (name.strip() or None)


def _sender(message: EmailMessage, envelope_sender: str | None) -> tuple[str | None, str | None]:
    """Who wrote it: From, else Sender or Reply-To, else the SMTP envelope, else
    Return-Path. A mail with none of them is still a contact, with nobody to reply to."""
    for name in ("From", "Sender", "Reply-To"):
        if message.get(name) is not None and (found := _address_in(message[name])):
            return found if name == "From" else (found[0], _display_name(message))
    for fallback in (envelope_sender, message.get("Return-Path")):
        if fallback and (found := _address_in(fallback)):
            return found[0], _display_name(message)
    return None, _display_name(message)


def _display_name(message: EmailMessage) -> str | None:
    """The From header as written, when it holds no usable address (shown, never matched)."""
    written = str(message.get("From", "") or "").strip(' <>\t"')
    return written or None


def decode_text(data: bytes, declared: str | None) -> str:
    """The declared charset if it reads the bytes, else UTF-8 if valid, else Windows-1252.

    Mail clients (and swaks) send 8-bit text without a charset, or with a wrong one; UTF-8
    is strict enough that bytes it accepts are almost surely UTF-8.
    """
    for charset in (declared, "utf-8"):
        if charset:
            try:
                return data.decode(charset)
            except (LookupError, UnicodeDecodeError):
                continue
    return data.decode("cp1252", errors="replace")


def _text_of(part: MIMEPart) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return str(part.get_payload())
    return decode_text(data, part.get_content_charset())


def headers_as_utf8(data: bytes) -> bytes:
    """Raw 8-bit header bytes that are not UTF-8 are Windows-1252 (old clients): transcode
    the header block so names and subjects decode like bodies (no U+FFFD)."""
    end = data.find(b"\r\n\r\n")
    end = data.find(b"\n\n") if end < 0 else end
    head = data[:end] if end >= 0 else data
    try:
        head.decode("utf-8")
        return data
    except UnicodeDecodeError:
        fixed = head.decode("cp1252", errors="replace").encode("utf-8")
        return fixed + (data[end:] if end >= 0 else b"")


def _body(message: MIMEPart) -> tuple[str, str | None]:
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    html = sanitise_html(_text_of(rich)) if rich is not None else None
    if plain is not None:
        text = _text_of(plain)
    elif html is not None:
        text = html_to_text(html)
    elif not message.is_multipart() and message.get_content_maintype() == "text":
        text = _text_of(message)  # a broken subtype ("text/"): still the mail's text
    else:
        text = ""
    return text.strip(), html


def _payload(part: MIMEPart) -> bytes:
    if part.get_content_type() == "message/rfc822":  # decode=True gives None for these
        inner = _forwarded(part)
        return inner.as_bytes(policy=default_policy.clone(max_line_length=0)) if inner else b""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _forwarded(part: MIMEPart) -> MIMEPart | None:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    return inner if isinstance(inner, MIMEPart) else None


def _forwarded_text(inner: MIMEPart) -> str:
    """A forwarded mail as text under the new text: its From, Date, Subject and body."""
    lines = [FORWARDED]
    for name in ("From", "Date", "Subject"):
        if inner.get(name) is not None:
            lines.append(f"{name}: {inner.get(name)}")
    body, _ = _body(inner)
    return "\n".join(lines) + "\n\n" + body


def _filename(part: MIMEPart) -> str:
    name = part.get_filename()
    if part.get_content_type() == "message/rfc822":
        inner = _forwarded(part)
        subject = str(inner.get("Subject", "") or "") if inner is not None else ""
        name = name or re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", subject).strip(" ._")[:200]
        name = name or "forwarded"
        if not name.lower().endswith(".eml"):
            name += ".eml"
    return fit(name or "attachment", 255) or "attachment"


def _held_inside(inner: MIMEPart) -> Reason | None:
    """A forwarded mail that carries a program is held like the program."""
    for part in inner.iter_attachments():
        data = _payload(part)
        held = (_held_inside(f) if (f := _forwarded(part)) is not None
                else judge(_filename(part), data).quarantine)
        if held is not None:
            return reason("forwarded", inner=held, name=_filename(part)[:100])
    return None


def _attachment_parts(message: MIMEPart) -> list[MIMEPart]:
    """The attached parts; a mail whose whole body is one file (a partner's scanned
    letter sent as application/pdf) is that one attachment."""
    if not message.is_multipart() and message.get_content_maintype() not in ("text",
                                                                              "multipart"):
        return [message]
    return list(message.iter_attachments())


def _too_large(size: int, total: int, limits: Limits) -> Reason | None:
    """Over the per-file limit, or past the message's total with the files before it."""
    if size > limits.file:
        return reason("too_large.file", size=size, limit=limits.file)
    if total + size > limits.message:
        return reason("too_large.message", size=size, limit=limits.message)
    return None


def attachments_of(message: MIMEPart, limits: Limits) -> tuple[InboundAttachment, ...]:
    """Every attachment with its sniffed type; held ones with their reason; a part over the
    per-file limit, or past the per-message total, listed with its size but not its bytes."""
    found: list[InboundAttachment] = []
    total = 0
    for part in _attachment_parts(message):
        name, data = _filename(part), _payload(part)
        if (over := _too_large(len(data), total, limits)) is not None:
            found.append(InboundAttachment(name, part.get_content_type()[:255], b"",
                                           over.stored(), len(data)))
            continue
        total += len(data)
        inner = _forwarded(part)
        if inner is not None:
            found.append(InboundAttachment(name, "message/rfc822", data,
                                           stored_reason(_held_inside(inner))))
            continue
        verdict = judge(name, data)
        found.append(InboundAttachment(name, verdict.content_type[:255], data,
                                       stored_reason(verdict.quarantine)))
    return tuple(found)


_BOUNDARY_LINE = re.compile(rb"^--([^\s]{1,70}?)\r?$", re.MULTILINE)


def _with_usable_boundary(message: EmailMessage) -> EmailMessage:
    """A multipart whose boundary is missing or wrong is re-read with the boundary its
    body actually uses; with none to be found, its body is read as plain text."""
    if message.get_content_maintype() != "multipart" or message.is_multipart():
        return message
    # The body as received: the public get_payload() would replace its 8-bit bytes.
    body = getattr(message, "_payload", None)
    raw = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else b""
    found = _BOUNDARY_LINE.search(raw)
    if found is not None:
        boundary = found.group(1).decode("ascii", "replace")
        repaired = EmailMessage(policy=default_policy)
        repaired["Content-Type"] = f'multipart/mixed; boundary="{boundary}"'
        reread = message_from_bytes(b"Content-Type: " + str(repaired["Content-Type"]).encode()
                                    + b"\r\n\r\n" + raw, policy=default_policy)
        if isinstance(reread, EmailMessage) and reread.is_multipart():
            _copy_headers(message, reread)
            return reread
    plain = EmailMessage(policy=default_policy)
    _copy_headers(message, plain)
    plain.set_content(decode_text(raw, None))
    return plain


def _copy_headers(source: EmailMessage, target: EmailMessage) -> None:
    for name, value in source.items():
        if name.lower() not in ("content-type", "content-transfer-encoding",
                                "mime-version") and name not in target:
            target[name] = value


def read_message(data: bytes) -> EmailMessage:
    try:
        message = message_from_bytes(headers_as_utf8(data), policy=default_policy)
    except Exception as exc:  # the email package raises many kinds on broken input
        raise Unparseable(f"{type(exc).__name__}: {exc}") from exc
    assert isinstance(message, EmailMessage)
    return message


def parse_email(data: bytes, raw_id: int, idempotency_key: str, received_at: datetime) -> Inbound:
    """The Inbound of a stored mail; received_at is our receipt time, not the sender's Date."""
    return inbound_from(read_message(data), raw_id, idempotency_key, received_at)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def fit(value: str | None, limit: int | None = None) -> str | None:
    """Storable on both engines: no NUL (PostgreSQL refuses it), no lone surrogate (bytes
    the decoder could not read), cut to the column. The raw mail keeps the whole value."""
    if value is None:
        return None
    value = _UNSTORABLE.sub("\ufffd", value)
    return value[:limit] if limit else value


def inbound_from(message: EmailMessage, raw_id: int, idempotency_key: str,
                 received_at: datetime, auto_reply: bool = False,
                 envelope_sender: str | None = None, limits: Limits | None = None) -> Inbound:
    if not message.keys():
        raise Unparseable("not a mail: it has no header lines at all (no From, no Subject)")
    try:
        sender, name = _sender(message, envelope_sender)
        message = _with_usable_boundary(message)
        text, html = _body(message)
        attachments = attachments_of(message, limits or Limits())  # the service passes its own
        forwards = [_forwarded_text(inner) for part in _attachment_parts(message)
                    if (inner := _forwarded(part)) is not None]
        text = "\n\n".join(t for t in (text, *forwards) if t).strip()
        thread = MESSAGE_ID.findall(str(message.get("References", "")))
        thread += MESSAGE_ID.findall(str(message.get("In-Reply-To", "")))
        message_id = MESSAGE_ID.search(str(message.get("Message-ID", "")))
    except Unparseable:
        raise
    except Exception as exc:  # the email package raises many kinds on broken input
        raise Unparseable(f"{type(exc).__name__}: {exc}") from exc
    if not text and not attachments:
        raise Unparseable("the mail has neither text nor attachments")
    return Inbound(
        channel="email",
        idempotency_key=idempotency_key,
        text=fit(text) or "",
        html=fit(html),
        sender_email=fit(sender, 254) if sender else None,
        sender_name=fit(name, 200),
        subject=fit(clean_subject(str(message.get("Subject", "") or "")), 500) or None,
        attachments=attachments,
        thread_ids=tuple(dict.fromkeys(t for t in thread if len(t) <= 500)),
        channel_message_id=message_id.group(0)[:500] if message_id else None,
        raw_id=raw_id,
        received_at=received_at,
        auto_reply=auto_reply,
    )
