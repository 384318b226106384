"""Mail about mail: delivery reports (bounces) and auto-replies, told apart from a person's.

A bounce is matched to the outbound message it reports, by our VERP return path
(`bounces+<message id>.<tag>@domain`, tagged with an HMAC so it cannot be forged) or by the
Message-ID of the original quoted in the report. Delays (4.x.x, Action: delayed) change
nothing, as Mailman does; only permanent failures mark a message `bounced`. flufl.bounce
reads the many classic bounce formats; RFC 3464 reports are read here for their reason.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message

from flufl.bounce import all_failures

VERP = re.compile(r"^bounces\+(\d+)\.([0-9a-f]{12})@", re.IGNORECASE)
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list"})


def verp_address(message_id: int, domain: str, key: bytes) -> str:
    """The return path of one outbound message: its bounce names the message."""
    return f"bounces+{message_id}.{_tag(message_id, key)}@{domain}"


def _tag(message_id: int, key: bytes) -> str:
    return hmac.new(key, f"verp:{message_id}".encode(), hashlib.sha256).hexdigest()[:12]


def verp_message_id(address: str, key: bytes) -> int | None:
    """The outbound message a VERP address names, if the tag is ours."""
    match = VERP.match(address.strip())
    if match is None:
        return None
    message_id = int(match.group(1))
    return message_id if hmac.compare_digest(match.group(2), _tag(message_id, key)) else None


@dataclass(frozen=True)
class Report:
    permanent: bool  # False: only delays, nothing to record
    reason: str
    reported_ids: tuple[str, ...]  # Message-IDs of the original, as quoted


def _dsn_reason(message: EmailMessage) -> tuple[bool, str]:
    """(any permanent failure, the reason) from a message/delivery-status part."""
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        permanent, reasons = False, []
        for block in part.get_payload() if part.is_multipart() else []:
            assert isinstance(block, Message)
            action = str(block.get("Action", "")).strip().lower()
            status = str(block.get("Status", "")).strip()
            if action == "failed" or status.startswith("5"):
                permanent = True
                diagnostic = str(block.get("Diagnostic-Code", "")).partition(";")[2].strip()
                reasons.append(" ".join(x for x in (status, diagnostic) if x))
        return permanent, "; ".join(reasons)
    return False, ""


def _reported_ids(message: EmailMessage) -> tuple[str, ...]:
    found: list[str] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822" and part.is_multipart():
            for inner in part.get_payload():
                assert isinstance(inner, Message)
                found += MESSAGE_ID.findall(str(inner.get("Message-ID", "")))
        elif kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
            header = re.search(r"(?im)^message-id:\s*(<[^<>\s]+>)", text)
            found += [header.group(1)] if header else []
    return tuple(dict.fromkeys(found))


BOUNCE_SENDERS = ("mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster", "bounce")


def _may_be_bounce(message: EmailMessage, mail_from: str | None) -> bool:
    """Bounces come from the null reverse-path (RFC 5321 §4.5.5) or a mailer daemon; only
    those are worth flufl.bounce's many detectors, which take seconds on a big mail."""
    if mail_from == "":
        return True
    sender = str(message.get("From", "") or "").lower()
    return any(name in sender for name in BOUNCE_SENDERS)


def delivery_report(message: EmailMessage, rcpt_tos: list[str], key: bytes,
                    mail_from: str | None = None) -> Report | None:
    """A Report when this mail is a bounce (or a VERP-addressed one), else None.
    `mail_from` is the envelope sender ("" for the null one; None when unknown: IMAP)."""
    verp = any(verp_message_id(r, key) is not None for r in rcpt_tos)
    is_dsn = (message.get_content_type() == "multipart/report"
              and message.get_param("report-type") == "delivery-status")
    temporary, permanent = frozenset[bytes](), frozenset[bytes]()
    if verp or is_dsn or _may_be_bounce(message, mail_from):
        try:
            temporary, permanent = all_failures(message)
        except Exception:  # a detector tripping over odd mail: then it is no bounce to them
            temporary, permanent = frozenset(), frozenset()
    if not (verp or is_dsn or temporary or permanent):
        return None
    dsn_permanent, reason = _dsn_reason(message)
    failed = dsn_permanent or bool(permanent) or (verp and not is_dsn and not temporary)
    if not reason:
        reason = str(message.get("Subject", "") or "delivery failed")[:300]
    return Report(failed, reason[:1000], _reported_ids(message))


def is_auto_reply(message: EmailMessage) -> bool:
    """RFC 3834 Auto-Submitted, X-Autoreply, Precedence bulk/junk/list."""
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    return (auto not in ("", "no") or message.get("X-Autoreply") is not None
            or message.get("X-Autorespond") is not None
            or str(message.get("Precedence", "")).strip().lower() in AUTO_PRECEDENCE)
