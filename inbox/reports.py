"""Delivery reports: a bounce marks the outbound message it reports; it opens nothing."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.contacts import mark_delivery
from inbox.models import Contact, Message, RawInbound
from inbox.raw import mark_unparseable


def _reported(session: Session, message_id: int | None, reported_ids: Sequence[str]
              ) -> Message | None:
    if message_id is not None:
        message = session.get(Message, message_id)
        if message is not None and message.direction == "out":
            return message
    if not reported_ids:
        return None
    return session.scalar(select(Message).where(
        Message.direction == "out", Message.channel_message_id.in_(list(reported_ids)))
        .order_by(Message.id.desc()).limit(1))


def record_delivery_report(session: Session, raw_id: int, message_id: int | None,
                           reported_ids: Sequence[str], permanent: bool, reason: str) -> bool:
    """True when the report named one of our messages (then `bounced` if permanent).

    A report for a message we never sent is kept raw for a person to look at.
    """
    raw = session.get(RawInbound, raw_id)
    message = _reported(session, message_id, reported_ids)
    if message is None:
        mark_unparseable(session, raw_id, "a delivery report for a message Yhteys did not "
                         "send (no VERP address, no known Message-ID)")
        return False
    if permanent and message.delivery_state != "bounced":
        mark_delivery(session, message.id, "bounced", reason)
    if raw is not None:
        contact_id = session.scalar(select(Contact.id).where(
            Contact.conversation_id == message.conversation_id))
        raw.state, raw.contact_id, raw.error = "report", contact_id, reason or None
    return True
