"""Reply templates over HTTP: leads keep them; counsellors fill one for a contact."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from babel.dates import format_date, format_time

from inbox.errors import bad_request, json_object
from inbox.hours import ServiceHours
from inbox.store import Store
from inbox.templates import LANGUAGES, delete_template, fill, save_template, templates
from web.api import path_id
from web.auth import require_staff

MONDAY = date(2026, 1, 5)
DASH = "\u2013"  # the en dash of ranges
TIME = {"fi": "H.mm", "sv": "H.mm", "en": "H:mm"}


def opening_hours_text(hours: ServiceHours) -> Callable[[str, str | None], str]:
    """`{opening_hours}` in words, e.g. "ma-pe 9.00-15.00" with an en dash (Babel's day
    names per language)."""
    def text(lang: str, area: str | None) -> str:
        weekly = hours.of(area).weekly
        groups: list[tuple[list[int], str]] = []
        for day in range(7):
            spans = ", ".join(
                format_time(a, TIME[lang], locale=lang) + DASH
                + format_time(b, TIME[lang], locale=lang) for a, b in weekly.get(day, []))
            if spans and groups and groups[-1][1] == spans and groups[-1][0][-1] == day - 1:
                groups[-1][0].append(day)
            elif spans:
                groups.append(([day], spans))

        def name(day: int) -> str:
            return format_date(MONDAY + timedelta(days=day), "EEE", locale=lang)
        return "; ".join(f"{name(days[0])}{DASH}{name(days[-1])} {spans}" if len(days) > 1
                         else f"{name(days[0])} {spans}" for days, spans in groups)
    return text


@dataclass
class TemplatesApi:
    store: Store
    clock: Callable[[], datetime]
    hours_text: Callable[[str, str | None], str]

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/v1/templates", self.list),
                web.post("/api/v1/templates", self.create),
                web.put("/api/v1/templates/{id}", self.update),
                web.delete("/api/v1/templates/{id}", self.delete),
                web.get("/api/v1/contacts/{id}/templates/{tid}", self.filled)]

    async def list(self, request: web.Request) -> web.Response:
        require_staff(request)
        language = request.query.get("language")
        if language is not None and language not in LANGUAGES:
            raise bad_request(f"language must be one of {', '.join(LANGUAGES)}",
                              field="language")
        return web.json_response({"items": await self.store.call(templates, language)})

    async def _save(self, request: web.Request, template_id: int | None) -> web.Response:
        who, body = require_staff(request), await json_object(request.json)
        saved = await self.store.call(save_template, who, template_id, body.get("name"),
                                      body.get("language"), body.get("text"), self.clock())
        return web.json_response(_json(saved), status=201 if template_id is None else 200)

    async def create(self, request: web.Request) -> web.Response:
        return await self._save(request, None)

    async def update(self, request: web.Request) -> web.Response:
        return await self._save(request, path_id(request))

    async def delete(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        await self.store.call(delete_template, who, path_id(request))
        return web.Response(status=204)

    async def filled(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        body = await self.store.call(fill, who, path_id(request, "tid"), path_id(request),
                                     self.hours_text)
        return web.json_response(body)


def _json(template: Any) -> dict[str, Any]:
    return {"id": template.id, "name": template.name, "language": template.language,
            "text": template.text}


def templates_openapi() -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    staff: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]

    def errors(*codes: int) -> dict[str, Any]:
        return {str(c): {"description": "Problem", "content": problem} for c in codes}
    ident = {"name": "id", "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
    body = {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["name", "language", "text"], "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "language": {"type": "string", "enum": ["fi", "sv", "en"]},
            "text": {"type": "string", "minLength": 1, "maxLength": 10000}}}}}}
    ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "/api/v1/templates": {
            "get": {"summary": "Reply templates", "security": staff,
                    "parameters": [{"name": "language", "in": "query", "schema": {
                        "type": "string", "enum": ["fi", "sv", "en"]}}],
                    "responses": {"200": ok, **errors(400, 401)}},
            "post": {"summary": "A new template (leads): {first_name} {counsellor} "
                                "{opening_hours}", "security": staff, "requestBody": body,
                     "responses": {"201": ok, **errors(400, 401, 403, 409)}}},
        "/api/v1/templates/{id}": {
            "put": {"summary": "Change a template (leads)", "security": staff,
                    "parameters": [ident], "requestBody": body,
                    "responses": {"200": ok, **errors(400, 401, 403, 404, 409)}},
            "delete": {"summary": "Remove a template (leads)", "security": staff,
                       "parameters": [ident],
                       "responses": {"204": {"description": "Gone"},
                                     **errors(400, 401, 403, 404)}}},
        "/api/v1/contacts/{id}/templates/{tid}": {"get": {
            "summary": "A template filled for this contact", "security": staff,
            "parameters": [ident, {**ident, "name": "tid"}],
            "responses": {"200": ok, **errors(400, 401, 404)}}},
    }
