"""socket.io /chat (public contract v1 + v2): start, resume, message, end, typing.

Every ack comes after the commit. Refusals are acks `{error, code}` (validate.py). Message
ids of a conversation only grow in commit order (inbox.contacts.next_seq), so a client that
holds every message up to `last_seen_id` misses nothing that `resume` replays.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import socketio
from sqlalchemy.exc import IntegrityError

from channels.chat.sharing import LocalPresence, Presence
from channels.chat.status import StatusBoard
from channels.chat.validate import Refusal, Start, client_id_of, start_of, storable, text_of
from channels.chat.writes import ChatWrites
from inbox.chat import contact_of_conversation, end_by_resident, replay
from inbox.chat import started_conversation as started
from inbox.contacts import Recorded
from inbox.inbound import Inbound
from inbox.store import Store
from inbox.views import conversation_by_token
from router.pipeline import Router

log = logging.getLogger(__name__)
NAMESPACE = "/chat"
TYPING_EVERY_S = 2.0


def room(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class ChatLimits:
    allow_connect: Callable[[str], bool]  # per client address
    allow_message: Callable[[str], bool]  # starts and messages per connection
    forget: Callable[[str], None]  # a connection gone


class ChatNamespace(socketio.AsyncNamespace):
    def __init__(self, store: Store, router: Router, limits: ChatLimits, token_key: bytes,
                 topics: frozenset[int], board: StatusBoard,
                 to_staff: Callable[[dict[str, Any]], Awaitable[None]],
                 presence: Presence | None = None):
        super().__init__(NAMESPACE)
        self.store = store
        self.router = router
        self.writes = ChatWrites(store, router)
        self.limits = limits
        self.token_key = token_key
        self.topics = topics
        self.board = board
        self.to_staff = to_staff
        self.present: dict[int, set[str]] = {}  # conversation -> sids on this serve
        self._joined: dict[str, set[int]] = {}  # sid -> the conversations it is present in
        self.shared_presence: Presence = presence or LocalPresence()  # on every serve
        self._typing_at: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # --- connection -----------------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        # engine.io's aiohttp driver always says REMOTE_ADDR 127.0.0.1; the request knows.
        request = environ.get("aiohttp.request")
        return self.limits.allow_connect(str(getattr(request, "remote", None) or "?"))

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        self._typing_at.pop(sid, None)
        self.limits.forget(sid)
        for conversation_id in self._joined.pop(sid, set()):
            sids = self.present.get(conversation_id)
            if sids is None:
                continue
            sids.discard(sid)
            if not sids:
                self.present.pop(conversation_id, None)
                if await self.shared_presence.leave(conversation_id):
                    await self._tell_staff(conversation_id, "chat.presence", state="gone")

    # --- events ---------------------------------------------------------------------------
    async def on_start(self, sid: str, data: Any) -> dict[str, Any]:
        try:
            self._rate(sid)
            start = start_of(data, self.topics)
        except Refusal as refusal:
            return refusal.ack()
        token = self._token(start.client_id)
        digest = token_hash(token)
        found = await self.store.call(started, digest)
        if found is None:
            try:
                recorded: Recorded = await self.store.call(self.router.route,
                                                           self._inbound(start, digest))
                found = {"conversation_id": recorded.conversation_id,
                         "id": recorded.message_id, "seq": recorded.seq}
            except IntegrityError:  # the same start, committed by a concurrent double send
                found = await self.store.call(started, digest)
                if found is None:
                    raise
        conversation_id = found["conversation_id"]
        await self._join(sid, conversation_id)
        status = await self.board.current(conversation_id)
        return {**found, "token": token, "position": status.get("position"),
                "status": status}

    async def on_resume(self, sid: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("token"), str):
            return Refusal("bad_request", "resume takes {token, last_seen_id}").ack()
        last_seen = data.get("last_seen_id") or 0
        if isinstance(last_seen, bool) or not isinstance(last_seen, int) or last_seen < 0:
            return Refusal("bad_request", "last_seen_id must be a non-negative integer").ack()
        conversation = await self.store.call(conversation_by_token, token_hash(data["token"]))
        if conversation is None:
            return Refusal("token_unknown", "unknown or expired conversation token").ack()
        # Join first, then read: a reply committed in between is in the read or in the room.
        await self._join(sid, conversation.id)
        missed = await self.store.call(replay, conversation.id, last_seen)
        status = await self.board.current(conversation.id)
        contact = await self.store.call(contact_of_conversation, conversation.id)
        task = asyncio.get_running_loop().create_task(self._replay(sid, missed))
        self._tasks.add(task)  # kept referenced until done
        task.add_done_callback(self._tasks.discard)
        return {"conversation_id": conversation.id,
                "language": contact.language if contact else None,
                "ended": conversation.ended_at is not None, "status": status}

    async def _replay(self, sid: str, missed: list[dict[str, Any]]) -> None:
        await asyncio.sleep(0)  # after the ack
        for message in missed:
            await self.emit("message", message, to=sid)

    async def on_message(self, sid: str, data: Any) -> dict[str, Any]:
        conversation_id = (await self.get_session(sid)).get("conversation_id")
        try:
            if conversation_id is None:
                raise Refusal("no_conversation", "start or resume a conversation first")
            self._rate(sid)
            if not isinstance(data, dict):
                raise Refusal("bad_request", "message takes {client_id, text}")
            storable(data)
            client_id = client_id_of(data, required=True)
            text = text_of(data)
        except Refusal as refusal:
            return refusal.ack()
        inbound = Inbound(
            channel="chat", idempotency_key=f"chat:{conversation_id}:{client_id}", text=text,
            conversation_id=conversation_id, client_id=client_id,
        )
        try:
            recorded = await self.writes.submit(inbound)
        except IntegrityError:
            # The same client_id was committed by a concurrent send (a resend, a second tab):
            # routing it again finds that message and acks with its id.
            recorded = await self.writes.submit(inbound)
        if recorded is None:
            return Refusal("ended", "this chat has ended; start a new one").ack()
        if recorded.created:
            await self.emit("message", {"id": recorded.message_id, "seq": recorded.seq,
                                        "text": text, "sender": "resident", "name": None,
                                        "at": inbound.received_at.isoformat(),
                                        "client_id": client_id},
                            room=room(conversation_id), skip_sid=sid)
        return {"id": recorded.message_id, "seq": recorded.seq}

    async def on_end(self, sid: str, data: Any = None) -> dict[str, Any]:
        conversation_id = (await self.get_session(sid)).get("conversation_id")
        if conversation_id is None:
            return Refusal("no_conversation", "start or resume a conversation first").ack()
        await self.store.call(end_by_resident, conversation_id)
        self.board.poke(conversation_id)
        return {"ok": True}

    async def on_typing(self, sid: str, data: Any = None) -> None:
        conversation_id = (await self.get_session(sid)).get("conversation_id")
        now = asyncio.get_running_loop().time()
        if conversation_id is None or now - self._typing_at.get(sid, -1e9) < TYPING_EVERY_S:
            return
        self._typing_at[sid] = now
        await self._tell_staff(conversation_id, "chat.typing")

    # --- for the counsellors' side --------------------------------------------------------
    async def counsellor_typing(self, conversation_id: int, name: str | None) -> None:
        await self.emit("typing", {"name": name}, room=room(conversation_id))

    async def presence(self, conversation_id: int) -> str:
        here = bool(self.present.get(conversation_id))
        return "online" if here or await self.shared_presence.online(conversation_id) \
            else "gone"

    async def emit_status(self, conversation_id: int, status: dict[str, Any]) -> None:
        await self.emit("status", status, room=room(conversation_id))

    # --- helpers --------------------------------------------------------------------------
    def _rate(self, sid: str) -> None:
        if not self.limits.allow_message(sid):
            raise Refusal("rate_limited", "too many messages; wait a moment and try again")

    def _token(self, client_id: str | None) -> str:
        """From the client's start id (so a start sent twice gets the same token), else new."""
        if client_id is None:
            return secrets.token_urlsafe(24)
        mac = hmac.new(self.token_key, f"chat-start:{client_id}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")

    @staticmethod
    def _inbound(start: Start, digest: str) -> Inbound:
        return Inbound(
            channel="chat", idempotency_key=f"chat:{digest}:start", text=start.text,
            sender_name=start.name, chat_token_hash=digest, postal_code=start.postal_code,
            language=start.language, client_id=start.client_id or "start",
            contact_email=start.email, topic=start.topic,
            no_fixed_address=start.no_fixed_address,
        )

    async def _join(self, sid: str, conversation_id: int) -> None:
        session = await self.get_session(sid)
        await self.save_session(sid, {**session, "conversation_id": conversation_id})
        await self.enter_room(sid, room(conversation_id))
        sids = self.present.setdefault(conversation_id, set())
        first = not sids
        sids.add(sid)
        self._joined.setdefault(sid, set()).add(conversation_id)
        if first and await self.shared_presence.arrive(conversation_id):
            await self._tell_staff(conversation_id, "chat.presence", state="online")

    async def _tell_staff(self, conversation_id: int, kind: str, **extra: Any) -> None:
        contact = await self.store.call(contact_of_conversation, conversation_id)
        if contact is None:
            return
        await self.to_staff({"type": kind, "contact_id": contact.id,
                             "area": contact.area_code, "assignee_id": contact.assignee_id,
                             **extra})

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.shared_presence.close()
