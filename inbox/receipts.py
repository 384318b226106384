"""The automatic receipt of a new email contact: one per thread, at most one per sender a
day, never to a partner (nor, decided by the channel, to auto-replies, bounces or lists)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import Contact, Conversation, Message

PER_SENDER = timedelta(days=1)


def claim_receipt(session: Session, contact_id: int, now: datetime
                  ) -> tuple[str, str | None] | None:
    """(to, the Message-ID replied to) when this contact is owed a receipt; claimed
    here, in the same transaction, so a job run twice sends one."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.channel != "email" or contact.partner_id is not None:
        return None
    conversation = session.scalar(select(Conversation).where(
        Conversation.id == contact.conversation_id).with_for_update())
    if conversation is None or not conversation.reply_to or conversation.receipt_sent_at:
        return None
    recent = session.scalar(select(Conversation.id).where(
        Conversation.reply_to == conversation.reply_to,
        Conversation.receipt_sent_at > now - PER_SENDER).limit(1))
    if recent is not None:
        return None
    conversation.receipt_sent_at = now
    first = session.scalar(select(Message.channel_message_id).where(
        Message.conversation_id == conversation.id).order_by(Message.id).limit(1))
    return conversation.reply_to, first


def release_receipt(session: Session, contact_id: int) -> None:
    """A receipt the relay could not take for now is owed again (the job is retried)."""
    contact = session.get(Contact, contact_id)
    conversation = session.get(Conversation, contact.conversation_id) if contact else None
    if conversation is not None:
        conversation.receipt_sent_at = None
