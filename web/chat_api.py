"""GET /api/v1/chat/availability (public): what the widget says before the resident writes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from babel.dates import format_datetime
from sqlalchemy.orm import Session

from inbox.chat import availability
from inbox.errors import Problem, bad_request
from inbox.hours import HELSINKI, ServiceHours
from inbox.lookups import postal_areas
from inbox.store import Store
from web.i18n import Catalogs, request_language

OPENS_FORMAT = {"fi": "EEEE d.M. 'klo' H.mm", "sv": "EEEE d.M. 'kl.' H.mm",
                "en": "EEEE d MMMM 'at' H:mm"}


def opens_words(lang: str, opens_at: datetime) -> str:
    return format_datetime(opens_at.astimezone(HELSINKI), OPENS_FORMAT[lang], locale=lang)


def _availability(session: Session, postal_code: str | None, now: datetime,
                  hours: ServiceHours, handling_s: int) -> dict[str, Any]:
    area = None
    if postal_code:
        known = postal_areas(session, {postal_code})
        area = known[postal_code][0] if postal_code in known else None
    return availability(session, area, now, hours, handling_s)


@dataclass
class ChatApi:
    store: Store
    clock: Callable[[], datetime]
    hours: ServiceHours
    handling_s: int
    allow: Callable[[str], bool]
    catalogs: Catalogs

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/v1/chat/availability", self.availability)]

    async def availability(self, request: web.Request) -> web.Response:
        if not self.allow(request.remote or "?"):
            raise Problem(429, "Too many requests", "wait a minute before asking again")
        lang = request_language(request.query.get("lang"), None)
        if "lang" in request.query and request.query["lang"] != lang:
            raise bad_request("lang must be one of fi, sv, en")
        postal = request.query.get("postal_code", "").strip()
        if postal and not re.fullmatch(r"[0-9]{5}", postal):
            raise bad_request("postal_code must be five digits, e.g. 00940")
        found = await self.store.call(_availability, postal or None, self.clock(),
                                      self.hours, self.handling_s)
        found["message"] = self.message(lang, found)
        return web.json_response(found)

    def message(self, lang: str, found: dict[str, Any]) -> str:
        t = self.catalogs.gettext
        if found["open"]:
            if found["expected_wait_s"] is None:
                return t(lang, "chat.open_busy")
            minutes = max(1, round(found["expected_wait_s"] / 60))
            return self.catalogs.ngettext(lang, "chat.open_wait_one", "chat.open_wait",
                                          minutes)
        if found["opens_at"]:
            return t(lang, "chat.closed", opens=opens_words(
                lang, datetime.fromisoformat(found["opens_at"])))
        return t(lang, "chat.closed_unknown")

    def openapi(self) -> dict[str, Any]:
        return {"/api/v1/chat/availability": {"get": {
            "summary": "Is the chat open for this postal code, how many wait, how long "
                       "(public, rate-limited)",
            "security": [],
            "parameters": [
                {"name": "postal_code", "in": "query", "required": False,
                 "schema": {"type": "string", "pattern": "^([0-9]{5})?$"}},
                {"name": "lang", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["fi", "sv", "en"]}}],
            "responses": {
                "200": {"description": "Availability", "content": {"application/json": {
                    "schema": {"type": "object", "required": [
                        "open", "opens_at", "queue_length", "expected_wait_s", "message"],
                        "properties": {
                            "open": {"type": "boolean"},
                            "opens_at": {"type": ["string", "null"], "format": "date-time"},
                            "closes_at": {"type": ["string", "null"], "format": "date-time"},
                            "queue_length": {"type": "integer", "minimum": 0},
                            "expected_wait_s": {"type": ["integer", "null"]},
                            "message": {"type": "string"},
                            "area": {"type": ["string", "null"]}}}}}},
                "400": {"description": "Bad postal code or language"},
                "429": {"description": "Too many requests"}}}}}
