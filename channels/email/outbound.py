"""A counsellor's reply as a mail: own Message-ID, In-Reply-To and References of the thread."""

from __future__ import annotations

import hashlib
import hmac
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import Conversation, Message


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
    subject = conversation.subject or "Asumisneuvonta"
    mail["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    mail["Date"] = format_datetime(message.at)
    mail["Message-ID"] = message_id_for(message.id, from_address.rpartition("@")[2], key)
    if last_inbound:
        mail["In-Reply-To"] = last_inbound
    if earlier:
        mail["References"] = " ".join(dict.fromkeys(earlier))
    mail["Auto-Submitted"] = "no"
    mail.set_content(message.text)
    return mail


def send(mail: EmailMessage, relay: tuple[str, int], return_path: str | None = None,
         timeout: float = 30) -> None:
    """Through the relay; `return_path` (VERP) is where the bounce of this one mail goes."""
    with smtplib.SMTP(relay[0], relay[1], timeout=timeout) as client:
        client.send_message(mail, from_addr=return_path)
