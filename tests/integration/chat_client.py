"""A resident's socket.io client for the tests: records every message, status and typing."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

from tests.conftest import Service


class ChatResident:
    def __init__(self, service: Service, origin: str | None = None):
        self.service = service
        self.client = socketio.AsyncClient(reconnection=False)
        self.messages: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.typing: list[dict[str, Any]] = []
        self.origin = origin or service.url
        self.events: list[str] = []  # every event's name, in the order they came
        for event, log in (("message", self.messages), ("status", self.statuses),
                           ("typing", self.typing)):
            self.client.on(event, self._recorder(event, log), namespace="/chat")

    def _recorder(self, event: str, log: list[dict[str, Any]]) -> Any:
        def record(data: dict[str, Any]) -> None:
            self.events.append(event)
            log.append(data)
        return record

    async def connect(self) -> ChatResident:
        # python-socketio waits 1 s for the namespace's answer by default; on a busy 2-core
        # CI machine (the service runs in this process) that is too short.
        await self.client.connect(self.service.url, namespaces=["/chat"],
                                  transports=["websocket"], headers={"Origin": self.origin},
                                  wait_timeout=10)
        return self

    async def call(self, event: str, data: Any = None) -> dict[str, Any]:
        return await self.client.call(event, data if data is not None else {},
                                      namespace="/chat", timeout=10)

    async def emit(self, event: str, data: Any = None) -> None:
        await self.client.emit(event, data if data is not None else {}, namespace="/chat")

    async def status_where(self, test: Any, timeout: float = 10) -> dict[str, Any]:
        """The first status event (seen or to come) for which `test(status)` holds."""
        for _ in range(int(timeout / 0.02)):
            for status in self.statuses:
                if test(status):
                    return status
            await asyncio.sleep(0.02)
        raise AssertionError(f"no such status among {self.statuses}")

    async def wait(self, log: list[dict[str, Any]], count: int, timeout: float = 10
                   ) -> list[dict[str, Any]]:
        for _ in range(int(timeout / 0.02)):
            if len(log) >= count:
                return log
            await asyncio.sleep(0.02)
        raise AssertionError(f"got {len(log)} of {count}: {log}")

    async def close(self) -> None:
        await self.client.disconnect()
