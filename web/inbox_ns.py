"""socket.io /inbox: live events for counsellors, only to the rooms that may see them.

Also the counsellor's side of a live chat: `presence {contact_id}` asks whether the
resident is online, `typing {contact_id}` tells the resident that someone is writing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

import socketio
from sqlalchemy.orm import Session

from inbox.access import Principal, event_rooms, rooms_of
from inbox.chat import first_name
from inbox.errors import Problem
from inbox.staff import principal_for_session, principal_for_token
from inbox.store import Store
from inbox.views import visible_contact
from web.auth import SESSION_COOKIE

log = logging.getLogger(__name__)
NAMESPACE = "/inbox"


def _chat_of(session: Session, who: Principal, contact_id: int) -> int | None:
    """The conversation of a chat contact this staff member may see, else None."""
    try:
        contact = visible_contact(session, who, contact_id)
    except Problem:
        return None
    return contact.conversation_id if contact.channel == "chat" else None



async def _nobody(conversation_id: int) -> str:
    return "gone"  # until the chat channel is wired in

class InboxNamespace(socketio.AsyncNamespace):
    """Staff join their rooms on connect; an unauthenticated connection is refused, and so
    is one from a page that is not ours (the widget's host sites may open /chat only)."""

    def __init__(self, store: Store, allowed_origins: tuple[str, ...] = ()):
        super().__init__(NAMESPACE)
        self.store = store
        self.allowed_origins = allowed_origins
        self.chat_presence: Callable[[int], Awaitable[str]] = _nobody
        self.chat_typing: Callable[[int, str | None], Awaitable[None]] | None = None

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        origin = environ.get("HTTP_ORIGIN")
        if origin and self.allowed_origins and origin not in self.allowed_origins:
            return False
        who = None
        if isinstance(auth, dict) and isinstance(auth.get("token"), str):
            who = await self.store.call(principal_for_token, auth["token"])
        else:
            cookies: SimpleCookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
            if SESSION_COOKIE in cookies:
                found = await self.store.call(principal_for_session,
                                              cookies[SESSION_COOKIE].value)
                who = found[0] if found else None
        if who is None:
            return False
        await self.save_session(sid, {"who": who})
        for room in rooms_of(who):
            await self.enter_room(sid, room)
        return True

    async def _conversation(self, sid: str, data: Any) -> int | None:
        who = (await self.get_session(sid)).get("who")
        contact_id = data.get("contact_id") if isinstance(data, dict) else None
        if who is None or isinstance(contact_id, bool) or not isinstance(contact_id, int):
            return None
        return await self.store.call(_chat_of, who, contact_id)

    async def on_presence(self, sid: str, data: Any) -> dict[str, Any]:
        conversation_id = await self._conversation(sid, data)
        if conversation_id is None:
            return {"error": "not a chat contact of yours", "code": "not_found"}
        return {"state": await self.chat_presence(conversation_id)}

    async def on_typing(self, sid: str, data: Any) -> None:
        conversation_id = await self._conversation(sid, data)
        if conversation_id is not None and self.chat_typing is not None:
            who: Principal = (await self.get_session(sid))["who"]
            await self.chat_typing(conversation_id, first_name(who.name))

    async def broadcast(self, event: dict[str, Any]) -> None:
        await self.emit("event", event, room=event_rooms(event))
