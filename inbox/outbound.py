"""Replies: store first, then hand to the channel; pending ones are handed again on start."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.access import Principal, log_access
from inbox.contacts import reply
from inbox.errors import Problem
from inbox.models import Conversation, Message
from inbox.ports import Deliverers
from inbox.store import Store
from inbox.views import message_json, visible_contact

log = logging.getLogger(__name__)


def _reply(session: Session, who: Principal, contact_id: int, text: str,
           deliverable: frozenset[str], secure: bool | None, secure_default: bool
           ) -> tuple[dict, str]:
    contact = visible_contact(session, who, contact_id)  # 404 before anything else
    channel = contact.channel
    if channel not in deliverable:
        raise Problem(409, "No written answer on this channel",
                      f"a {channel} contact is answered by calling; log the call instead")
    if secure and (channel != "email" or contact.partner_id is not None):
        raise Problem(409, "No secure message here",
                      "secure messages go to residents by email; partners get mail over TLS")
    as_link = channel == "email" and contact.partner_id is None and (
        secure if secure is not None else secure_default)
    message = reply(session, who, contact_id, text, secure=as_link)
    conversation = session.get(Conversation, message.conversation_id)
    assert conversation is not None
    return message_json(message), conversation.channel


RETRYABLE = ("failed", "bounced")


def _retry(session: Session, who: Principal, contact_id: int, message_id: int) -> str:
    """A reply that did not leave goes back to pending, the same message (and Message-ID)."""
    contact = visible_contact(session, who, contact_id)
    message = session.get(Message, message_id)
    if (message is None or message.conversation_id != contact.conversation_id
            or message.direction != "out"):
        raise Problem(404, "Not found", f"no reply {message_id} on contact {contact_id}")
    if message.delivery_state not in RETRYABLE:
        raise Problem(409, "Nothing to retry",
                      f"the reply is {message.delivery_state}; only failed or bounced ones")
    message.delivery_state, message.delivery_error = "pending", None
    log_access(session, who, "reply.retry", contact=contact, action="write")
    return contact.channel


def unsent_replies(session: Session, older_than: timedelta = timedelta(0)
                   ) -> list[tuple[int, str]]:
    """Replies not yet delivered (pending, or waiting for a retry): (id, channel)."""
    cutoff = datetime.now(UTC) - older_than
    rows = session.execute(
        select(Message.id, Conversation.channel)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.direction == "out",
               Message.delivery_state.in_(("pending", "retrying")),  # see redeliver_pending
               Message.at < cutoff)
    )
    return [(mid, channel) for mid, channel in rows]


class Outbound:
    def __init__(self, store: Store, deliverers: Deliverers, secure_default: bool = False):
        self.store = store
        self.deliverers = deliverers
        self.secure_default = secure_default  # YHTEYS_SECURE_REPLIES

    async def reply(self, who: Principal, contact_id: int, text: str,
                    secure: bool | None = None) -> dict:
        message, channel = await self.store.call(_reply, who, contact_id, text,
                                                 self.deliverers.channels(), secure,
                                                 self.secure_default)
        self.dispatch(channel, message["id"])
        return message

    def dispatch(self, channel: str, message_id: int) -> None:
        deliverer = self.deliverers.get(channel)
        if deliverer is None:
            log.info("no deliverer for %s; message %s stays pending", channel, message_id)
            return
        deliverer.deliver(message_id)

    async def retry(self, who: Principal, contact_id: int, message_id: int) -> None:
        channel = await self.store.call(_retry, who, contact_id, message_id)
        self.dispatch(channel, message_id)

    async def redeliver_pending(self, older_than: timedelta = timedelta(seconds=0)) -> int:
        """Hand again replies a crash left pending between commit and delivery, or waiting
        for a retry (the embedded default's waits live in memory; with rq a retry scheduled
        in Redis may meet this one, and the send's lease lets one of them send)."""
        pending = await self.store.call(unsent_replies, older_than)
        for message_id, channel in pending:
            self.dispatch(channel, message_id)
        return len(pending)
