"""Counsellors' replies to a chat: emitted to the conversation's room, then marked sent."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import socketio
from sqlalchemy.orm import Session

from channels.chat.namespace import NAMESPACE, room
from inbox.chat import wire_message
from inbox.contacts import mark_delivery
from inbox.models import Message
from inbox.store import Store

log = logging.getLogger(__name__)


class ChatDeliverer:
    """A resident who is offline gets the reply with their next `resume`."""

    def __init__(self, sio: socketio.AsyncServer, store: Store,
                 on_loop: Callable[[Coroutine[Any, Any, None]], None],
                 before: Callable[[int], Awaitable[None]] | None = None):
        self.sio = sio
        self.store = store
        self.on_loop = on_loop  # from a worker thread onto the serve's loop, kept track of
        self.before = before  # e.g. the status board settling "joined" first

    def deliver(self, message_id: int) -> None:
        self.on_loop(self._deliver(message_id))

    async def _deliver(self, message_id: int) -> None:
        try:
            found = await self.store.call(_load, message_id)
            if found is None:
                return
            conversation_id, payload = found
            if self.before is not None:
                await self.before(conversation_id)
            await self.sio.emit("message", payload, room=room(conversation_id),
                                namespace=NAMESPACE)
            await self.store.call(mark_delivery, message_id, "sent")
        except Exception as exc:
            log.exception("chat delivery of %s failed", message_id)
            await self.store.call(mark_delivery, message_id, "failed", str(exc))


def _load(session: Session, message_id: int) -> tuple[int, dict[str, Any]] | None:
    message = session.get(Message, message_id)
    if message is None:
        return None
    return message.conversation_id, wire_message(message)
