"""A counsellor's reply as a mail: own Message-ID, In-Reply-To and References of the thread."""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import Conversation, Message
from inbox.quoting import reply_subject


def message_id_for(message_id: int, domain: str, key: bytes) -> str:
    """Stable per message, so a retried send carries the same Message-ID (receivers dedupe)."""
    tag = hmac.new(key, str(message_id).encode(), hashlib.sha256).hexdigest()[:16]
    return f"<yhteys.{message_id}.{tag}@{domain}>"


def compose_reply(
    session: Session, message_id: int, from_address: str, key: bytes
) -> EmailMessage | None:
    """The mail for a stored outbound message, or None when there is nobody to send it to."""
    message = session.get(Message, message_id)
    if message is None:
        return None
    conversation = session.get(Conversation, message.conversation_id)
    if conversation is None or not conversation.reply_to:
        return None
    earlier: list[str] = list(session.scalars(
        select(Message.channel_message_id)
        .where(Message.conversation_id == conversation.id, Message.id < message.id,
               Message.channel_message_id.is_not(None))
        .order_by(Message.id)
    ))
    last_inbound = session.scalar(
        select(Message.channel_message_id)
        .where(Message.conversation_id == conversation.id, Message.direction == "in",
               Message.channel_message_id.is_not(None))
        .order_by(Message.id.desc()).limit(1)
    )
    mail = EmailMessage()
    mail["From"] = from_address
    mail["To"] = conversation.reply_to
    mail["Subject"] = reply_subject(conversation.subject)  # "Re: " once, whatever it had
    mail["Date"] = format_datetime(message.at)
    mail["Message-ID"] = message_id_for(message.id, from_address.rpartition("@")[2], key)
    if last_inbound:
        mail["In-Reply-To"] = last_inbound
    if earlier:
        mail["References"] = " ".join(dict.fromkeys(earlier))
    mail["Auto-Submitted"] = "no"
    mail.set_content(message.text)
    return mail


class TLSRequired(Exception):
    """Mail to a partner leaves only over verified TLS; it is held, never sent in clear."""


@dataclass(frozen=True)
class RelayTLS:
    mode: str  # "starttls" or "tls" (implicit)
    context: ssl.SSLContext  # verifies the relay's certificate and name


def relay_tls(mode: str | None, ca_file: str | None) -> RelayTLS | None:
    if not mode:
        return None
    if mode not in ("starttls", "tls"):
        raise ValueError("YHTEYS_SMTP_RELAY_TLS must be starttls or tls")
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return RelayTLS(mode, context)


def send(mail: EmailMessage, relay: tuple[str, int], return_path: str | None = None,
         tls: RelayTLS | None = None, require_tls: bool = False, timeout: float = 30) -> None:
    """Through the relay; `return_path` (VERP) is where the bounce of this one mail goes.

    With `require_tls` (a partner's domain) the mail leaves only over a verified TLS
    connection and asks the relay for REQUIRETLS (RFC 8689) when it offers it.
    """
    if require_tls and tls is None:
        raise TLSRequired("mail to this partner leaves only over verified TLS, and "
                          "YHTEYS_SMTP_RELAY_TLS is not set: held, not sent in clear")
    client: smtplib.SMTP
    if tls is not None and tls.mode == "tls":
        client = smtplib.SMTP_SSL(relay[0], relay[1], timeout=timeout, context=tls.context)
    else:
        client = smtplib.SMTP(relay[0], relay[1], timeout=timeout)
    with client:
        client.ehlo()
        if tls is not None and tls.mode == "starttls":
            if not client.has_extn("starttls"):
                raise TLSRequired("the relay offers no STARTTLS: not sent in clear")
            client.starttls(context=tls.context)
            client.ehlo()
        options = ["REQUIRETLS"] if require_tls and client.has_extn("requiretls") else []
        client.send_message(mail, from_addr=return_path, mail_options=options)
