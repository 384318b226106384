"""Live-chat presence and told statuses in Redis, for N serves (channels/chat/sharing.py).

Presence is a sorted set per conversation: a member per serve that holds a connection of
it, scored by when that claim runs out. Each serve renews its claims every few seconds, so
the connections of a serve that was killed stop counting after PRESENCE_TTL_S instead of
for ever. Told statuses are one hash, swapped field by field in a MULTI: of two serves
recomputing the same change, the second sees it already told.

While Redis is away the chat goes on in each serve alone: presence answers from this
serve's own connections and the statuses from this serve's memory, said in the log once
a minute; when Redis is back the shared view takes over again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from typing import Any

from redis.asyncio import Redis

from channels.chat.sharing import LocalToldStatuses

log = logging.getLogger(__name__)
WARN_EVERY_S = 60.0
PRESENCE_TTL_S = 30.0
TOLD_KEY = "yhteys:chat:told"
TOLD_TTL_S = 24 * 3600  # an idle service's leftovers go by themselves


def _presence_key(conversation_id: int) -> str:
    return f"yhteys:chat:presence:{conversation_id}"


class RedisPresence:
    def __init__(self, url: str, ttl_s: float = PRESENCE_TTL_S) -> None:
        self.client = Redis.from_url(url, client_name="yhteys-presence")
        self.serve = secrets.token_hex(8)  # this process; a restarted one is another
        self.ttl_s = ttl_s
        self.mine: set[int] = set()
        self._renewing: asyncio.Task[None] | None = None
        self.away = _Away("chat presence")

    async def arrive(self, conversation_id: int) -> bool:
        self.mine.add(conversation_id)
        self._start_renewing()
        key, now = _presence_key(conversation_id), time.time()
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, "-inf", now)  # claims of serves that died
                pipe.zadd(key, {self.serve: now + self.ttl_s})
                pipe.zcard(key)
                pipe.expire(key, int(self.ttl_s) + 1)
                _, _, count, _ = await pipe.execute()
        except Exception as exc:
            self.away.say(exc)
            return True  # as far as this serve knows
        return int(count) == 1

    async def leave(self, conversation_id: int) -> bool:
        self.mine.discard(conversation_id)
        key = _presence_key(conversation_id)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.zrem(key, self.serve)
                pipe.zcount(key, time.time(), "+inf")
                _, count = await pipe.execute()
        except Exception as exc:
            self.away.say(exc)
            return True
        return int(count) == 0

    async def online(self, conversation_id: int) -> bool:
        """Whether some serve holds a connection (the asking serve adds its own)."""
        try:
            return int(await self.client.zcount(_presence_key(conversation_id), time.time(),
                                                "+inf")) > 0
        except Exception as exc:
            self.away.say(exc)
            return False

    def _start_renewing(self) -> None:
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            try:
                until = time.time() + self.ttl_s
                async with self.client.pipeline(transaction=False) as pipe:
                    for conversation_id in list(self.mine):
                        key = _presence_key(conversation_id)
                        pipe.zadd(key, {self.serve: until})
                        pipe.expire(key, int(self.ttl_s) + 1)
                    await pipe.execute()
            except Exception as exc:  # Redis away: the claims run out, as they should
                self.away.say(exc)

    async def close(self) -> None:
        """A serve stopping takes its claims with it (its residents reconnect elsewhere)."""
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        with contextlib.suppress(Exception):
            async with self.client.pipeline(transaction=False) as pipe:
                for conversation_id in self.mine:
                    pipe.zrem(_presence_key(conversation_id), self.serve)
                await pipe.execute()
        self.mine.clear()
        await self.client.aclose()


class RedisToldStatuses:
    def __init__(self, url: str) -> None:
        self.client = Redis.from_url(url, client_name="yhteys-chat-status")
        self.here = LocalToldStatuses()  # while Redis is away
        self.away = _Away("chat statuses")

    async def swap(self, conversation_id: int, status: dict[str, Any]
                   ) -> dict[str, Any] | None:
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hget(TOLD_KEY, str(conversation_id))
                pipe.hset(TOLD_KEY, str(conversation_id), json.dumps(status, sort_keys=True))
                pipe.expire(TOLD_KEY, TOLD_TTL_S)
                before, _, _ = await pipe.execute()
        except Exception as exc:
            self.away.say(exc)
            return await self.here.swap(conversation_id, status)
        await self.here.forget(conversation_id)
        return json.loads(before) if before is not None else None

    async def forget(self, conversation_id: int) -> None:
        await self.here.forget(conversation_id)
        try:
            await self.client.hdel(TOLD_KEY, str(conversation_id))
        except Exception as exc:
            self.away.say(exc)

    async def watched(self) -> set[int]:
        mine = await self.here.watched()
        try:
            return mine | {int(field) for field in await self.client.hkeys(TOLD_KEY)}
        except Exception as exc:
            self.away.say(exc)
            return mine

    async def close(self) -> None:
        await self.client.aclose()


class _Away:
    """Redis being away is said once a minute, not once per resident."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.said_at = -WARN_EVERY_S

    def say(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self.said_at >= WARN_EVERY_S:
            self.said_at = now
            log.warning("%s: Redis unreachable (%s: %s); this serve goes on alone",
                        self.what, type(exc).__name__, exc)
