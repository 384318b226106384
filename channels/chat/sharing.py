"""What every serve must agree on about live chats, whichever serve a resident's socket
is on: whether a resident is connected (presence, for the counsellor) and what each
waiting resident was last told (queue position, joined, closed), so that one change is
told once, by the serve that saw it, and a position moved by a change on another serve is
told too. These are the embedded default's (one process, in memory); config/chat_redis.py
keeps the same in Redis for N serves.
"""

from __future__ import annotations

from typing import Any, Protocol


class Presence(Protocol):
    async def arrive(self, conversation_id: int) -> bool:
        """This serve has the conversation's first connection; True when no serve had."""

    async def leave(self, conversation_id: int) -> bool:
        """This serve's last connection of it has gone; True when no serve has one now."""

    async def online(self, conversation_id: int) -> bool: ...

    async def close(self) -> None: ...


class ToldStatuses(Protocol):
    async def swap(self, conversation_id: int, status: dict[str, Any]
                   ) -> dict[str, Any] | None:
        """Records `status` as told and returns what was told before, in one step: of two
        serves swapping the same status, only the first sees a change."""

    async def forget(self, conversation_id: int) -> None: ...

    async def watched(self) -> set[int]:
        """The conversations that have been told something and are not closed."""

    async def close(self) -> None: ...


class LocalPresence:
    def __init__(self) -> None:
        self.here: set[int] = set()

    async def arrive(self, conversation_id: int) -> bool:
        self.here.add(conversation_id)
        return True

    async def leave(self, conversation_id: int) -> bool:
        self.here.discard(conversation_id)
        return True

    async def online(self, conversation_id: int) -> bool:
        return conversation_id in self.here

    async def close(self) -> None:
        self.here.clear()


class LocalToldStatuses:
    def __init__(self) -> None:
        self.told: dict[int, dict[str, Any]] = {}

    async def swap(self, conversation_id: int, status: dict[str, Any]
                   ) -> dict[str, Any] | None:
        before, self.told[conversation_id] = self.told.get(conversation_id), status
        return before

    async def forget(self, conversation_id: int) -> None:
        self.told.pop(conversation_id, None)

    async def watched(self) -> set[int]:
        return set(self.told)

    async def close(self) -> None:
        self.told.clear()
