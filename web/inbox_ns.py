"""socket.io /inbox: live events for counsellors, only to the rooms that may see them."""

from __future__ import annotations

import logging
from http.cookies import SimpleCookie
from typing import Any

import socketio

from inbox.access import event_rooms, rooms_of
from inbox.staff import principal_for_session, principal_for_token
from inbox.store import Store
from web.auth import SESSION_COOKIE

log = logging.getLogger(__name__)
NAMESPACE = "/inbox"


class InboxNamespace(socketio.AsyncNamespace):
    """Staff join their rooms on connect; an unauthenticated connection is refused."""

    def __init__(self, store: Store):
        super().__init__(NAMESPACE)
        self.store = store

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
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
        for room in rooms_of(who):
            await self.enter_room(sid, room)
        return True

    async def broadcast(self, event: dict[str, Any]) -> None:
        await self.emit("event", event, room=event_rooms(event))
