"""A small phone-system simulator: posts signed CTI events (Zammad's generic shape)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from channels.phone.telephony import signature
from tests.conftest import Service

SECRET = "test-telephony-secret"  # YHTEYS_TELEPHONY_SECRET in tests/conftest.py


class PhoneSystem:
    def __init__(self, service: Service, secret: str = SECRET):
        self.service, self.secret = service, secret
        self.sent: list[tuple[str, bytes, str]] = []  # (timestamp, body, signature)

    async def post(self, event: str, call_id: str, from_: str | None, to: str | None,
                   direction: str = "in", *, form: bool = False, stamp: int | None = None,
                   **extra: Any) -> int:
        fields = {"event": event, "callId": call_id, "from": from_, "to": to,
                  "direction": direction, **extra}
        fields = {k: v for k, v in fields.items() if v is not None}
        if form:
            body, kind = urlencode(fields).encode(), "application/x-www-form-urlencoded"
        else:
            body, kind = json.dumps(fields).encode(), "application/json"
        return await self.raw(body, kind, stamp)

    async def raw(self, body: bytes, kind: str = "application/json", stamp: int | None = None,
                  sign: bool = True, signature_value: str | None = None) -> int:
        ts = str(int(self.service.running.system.clock.now().timestamp())
                 if stamp is None else stamp)
        sig = signature_value or signature(self.secret, ts, body)
        headers = {"Content-Type": kind}
        if sign:
            headers |= {"X-Yhteys-Timestamp": ts, "X-Yhteys-Signature": sig}
        self.sent.append((ts, body, sig))
        async with self.service.http.post(self.service.url + "/api/v1/telephony/events",
                                          data=body, headers=headers) as r:
            await r.read()
            return r.status

    async def replay(self, index: int = -1) -> int:
        ts, body, sig = self.sent[index]
        async with self.service.http.post(
                self.service.url + "/api/v1/telephony/events", data=body,
                headers={"Content-Type": "application/json", "X-Yhteys-Timestamp": ts,
                         "X-Yhteys-Signature": sig}) as r:
            return r.status

    async def answered_call(self, call_id: str, caller: str, desk: str) -> None:
        for event, extra in (("newCall", {}), ("answer", {"answeringNumber": desk}),
                             ("hangup", {"cause": "normalClearing"})):
            assert await self.post(event, call_id, caller, desk, **extra) == 200

    async def missed_call(self, call_id: str, caller: str, desk: str,
                          cause: str = "cancel") -> None:
        for event, extra in (("newCall", {}), ("hangup", {"cause": cause})):
            assert await self.post(event, call_id, caller, desk, **extra) == 200

