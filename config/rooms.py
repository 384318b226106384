"""socket.io rooms shared by every serve through Redis.

python-socketio's AsyncRedisManager does the sharing; this adds the two things it lacks.
Its first emit and its listener each make a Redis client, and the later one replaces the
earlier without closing it: the dropped client's socket stays open until the garbage
collector closes it in whatever thread it happens to run in, which asyncio refuses. And
it has no close at all, so a stopping serve would leave its listener and connections.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import socketio

CLIENT_NAME = "yhteys-rooms"  # what `CLIENT LIST` shows an operator


class SharedRooms(socketio.AsyncRedisManager):
    redis: Any
    pubsub: Any

    def __init__(self, url: str) -> None:
        super().__init__(url, redis_options={"client_name": CLIENT_NAME})
        self._closing: set[asyncio.Task[Any]] = set()

    def _redis_connect(self) -> None:
        """A working client is kept (only the subscription is new); a client replaced
        after an error is closed."""
        old_redis, old_pubsub = self.redis, self.pubsub
        if old_redis is not None and self.connected:
            self.pubsub = old_redis.pubsub(ignore_subscribe_messages=True)
        else:
            super()._redis_connect()
        for client in (old_pubsub, None if self.redis is old_redis else old_redis):
            if client is not None:
                task = asyncio.get_running_loop().create_task(_quietly_close(client))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        listener = getattr(self, "thread", None)  # what start_background_task gave it
        if isinstance(listener, asyncio.Task):
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
        for client in (self.pubsub, self.redis):
            if client is not None:
                await _quietly_close(client)
        if self._closing:
            await asyncio.gather(*self._closing)


async def _quietly_close(client: Any) -> None:
    with contextlib.suppress(Exception):  # a Redis that is gone has nothing left to close
        await client.aclose()
