"""socket.io /chat, as public contract v1 says: start, resume, message; ack after commit."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

import socketio
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.contacts import Recorded, mark_delivery
from inbox.inbound import Inbound
from inbox.models import Message
from inbox.store import Store
from inbox.views import conversation_by_token, conversation_messages_after
from router.pipeline import Router

log = logging.getLogger(__name__)
NAMESPACE = "/chat"
MAX_TEXT = 4000
LANGUAGES = ("fi", "sv", "en")
POSTAL = re.compile(r"^\d{5}$")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def room(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def wire_message(message: Message) -> dict[str, Any]:
    sender = "counsellor" if message.direction == "out" else "resident"
    return {"id": message.id, "text": message.text, "sender": sender,
            "name": message.sender if message.direction == "out" else None,
            "at": message.at.isoformat()}


def _text(data: dict[str, Any]) -> str | dict[str, str]:
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        return {"error": "text is required"}
    if len(text) > MAX_TEXT:
        return {"error": f"text is longer than {MAX_TEXT} characters"}
    return text.strip()


class ChatNamespace(socketio.AsyncNamespace):
    def __init__(self, store: Store, router: Router, allow: Callable[[str], bool],
                 allow_message: Callable[[str], bool]):
        super().__init__(NAMESPACE)
        self.store = store
        self.router = router
        self.allow = allow  # connections per client address
        self.allow_message = allow_message  # starts and messages per connection

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        # engine.io's aiohttp driver always says REMOTE_ADDR 127.0.0.1; the request knows.
        request = environ.get("aiohttp.request")
        return self.allow(str(getattr(request, "remote", None) or "?"))

    async def on_start(self, sid: str, data: Any) -> dict[str, Any]:
        if not self.allow_message(sid):
            return {"error": "too many messages; wait a moment and try again"}
        if not isinstance(data, dict):
            return {"error": "start takes {postal_code, language, text, name?}"}
        postal = data.get("postal_code")
        if not isinstance(postal, str) or not POSTAL.match(postal.strip()):
            return {"error": "postal_code is required: five digits, e.g. 00940"}
        language = data.get("language") or "fi"
        if language not in LANGUAGES:
            return {"error": f"language must be one of {', '.join(LANGUAGES)}"}
        text = _text(data)
        if isinstance(text, dict):
            return text
        name = data.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 200):
            return {"error": "name must be text of at most 200 characters"}
        token = secrets.token_urlsafe(24)
        token_hash = _hash(token)
        inbound = Inbound(
            channel="chat", idempotency_key=f"chat:{token_hash}:start", text=text,
            sender_name=(name or "").strip() or None, chat_token_hash=token_hash,
            postal_code=postal.strip(), language=language, client_id="start",
        )
        recorded: Recorded = await self.store.call(self.router.route, inbound)
        await self._join(sid, recorded.conversation_id)
        return {"conversation_id": recorded.conversation_id, "token": token,
                "id": recorded.message_id}

    async def on_resume(self, sid: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("token"), str):
            return {"error": "resume takes {token, last_seen_id}"}
        last_seen = data.get("last_seen_id") or 0
        if not isinstance(last_seen, int) or last_seen < 0:
            return {"error": "last_seen_id must be a non-negative integer"}
        found = await self.store.call(_resume, _hash(data["token"]), last_seen)
        if found is None:
            return {"error": "unknown or expired conversation token"}
        conversation_id, missed = found
        await self._join(sid, conversation_id)
        # The ack goes out first; the missed messages follow it in order.
        asyncio.get_running_loop().create_task(self._replay(sid, missed))
        return {"conversation_id": conversation_id}

    async def _replay(self, sid: str, missed: list[dict[str, Any]]) -> None:
        await asyncio.sleep(0)
        for message in missed:
            await self.emit("message", message, to=sid)

    async def on_message(self, sid: str, data: Any) -> dict[str, Any]:
        session = await self.get_session(sid)
        conversation_id = session.get("conversation_id")
        if conversation_id is None:
            return {"error": "start or resume a conversation first"}
        if not self.allow_message(sid):
            return {"error": "too many messages; wait a moment and try again"}
        if not isinstance(data, dict):
            return {"error": "message takes {client_id, text}"}
        client_id = data.get("client_id")
        if not isinstance(client_id, str) or not 0 < len(client_id) <= 100:
            return {"error": "client_id is required (text, at most 100 characters)"}
        text = _text(data)
        if isinstance(text, dict):
            return text
        inbound = Inbound(
            channel="chat", idempotency_key=f"chat:{conversation_id}:{client_id}", text=text,
            conversation_id=conversation_id, client_id=client_id,
        )
        try:
            recorded: Recorded = await self.store.call(self.router.route, inbound)
        except IntegrityError:
            # The same client_id was committed by a concurrent send (a resend, a second tab):
            # routing it again finds that message and acks with its id.
            recorded = await self.store.call(self.router.route, inbound)
        if recorded.created:
            await self.emit("message", {"id": recorded.message_id, "text": text,
                                        "sender": "resident", "name": None,
                                        "at": inbound.received_at.isoformat()},
                            room=room(conversation_id), skip_sid=sid)
        return {"id": recorded.message_id}

    async def _join(self, sid: str, conversation_id: int) -> None:
        await self.save_session(sid, {"conversation_id": conversation_id})
        await self.enter_room(sid, room(conversation_id))


def _resume(session: Session, token_hash: str, last_seen: int
            ) -> tuple[int, list[dict[str, Any]]] | None:
    conversation = conversation_by_token(session, token_hash)
    if conversation is None:
        return None
    missed = conversation_messages_after(session, conversation.id, last_seen)
    return conversation.id, [wire_message(m) for m in missed]


class ChatDeliverer:
    """Emits a stored reply to the conversation's room, then marks it sent."""

    def __init__(self, sio: socketio.AsyncServer, store: Store,
                 loop: asyncio.AbstractEventLoop):
        self.sio = sio
        self.store = store
        self.loop = loop

    def deliver(self, message_id: int) -> None:
        asyncio.run_coroutine_threadsafe(self._deliver(message_id), self.loop)

    async def _deliver(self, message_id: int) -> None:
        try:
            found = await self.store.call(_load, message_id)
            if found is None:
                return
            conversation_id, payload = found
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
