"""The dependencies /healthz asks beside the database: Redis, this serve's SMTP listener
and who holds the leases of what runs once (web/health.py runs them, each with a
timeout)."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from channels.email.listener import SmtpListener
from inbox.store import Store
from web.health import Check


class RedisCheck:
    """Redis carries the job queue and socket.io's rooms: without it mail still lands
    (stored before 250) but nothing moves on."""

    def __init__(self, url: str):
        self.client = Redis.from_url(url)

    async def __call__(self) -> dict[str, Any]:
        await self.client.ping()
        return {}

    async def aclose(self) -> None:
        await self.client.aclose()


def smtp_check(server: asyncio.base_events.Server, listener: SmtpListener) -> Check:
    async def check() -> dict[str, Any]:
        if not server.is_serving():
            raise ConnectionError("the SMTP listener is not accepting connections")
        return {"sessions": listener.total}
    return check


def lease_check(store: Store, names: list[str]) -> Check:
    """Which process holds each lease (timers, an IMAP mailbox): an operator sees who
    polls and who ticks. Nobody holding one is no failure (between two ticks, nobody)."""
    async def check() -> dict[str, Any]:
        return {"holders": await asyncio.to_thread(store.holders, names)}
    return check
