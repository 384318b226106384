"""REST API for cases: GET /api/v1/cases/{id}, and what a counsellor records on one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from aiohttp import web

from inbox.access import Principal
from inbox.case_work import (
    add_event,
    add_intervention,
    add_step,
    close_case,
    complete_follow_up,
    hand_over,
    plan_follow_up,
    update_case,
)
from inbox.cases import case_detail
from inbox.contact_work import add_note, correct_routing
from inbox.errors import bad_request, json_object
from inbox.followups import due_soon
from inbox.hours import HELSINKI
from inbox.store import Store
from inbox.taxonomy import CaseVocabulary
from web.api import path_id
from web.auth import require_staff


@dataclass
class CasesApi:
    store: Store
    clock: Callable[[], datetime]
    step_labels: dict[int, str]
    vocab: CaseVocabulary = field(default_factory=CaseVocabulary)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/cases/{id}", self.show),
            web.patch("/api/v1/cases/{id}", self.edit),
            web.post("/api/v1/cases/{id}/steps", self.step),
            web.post("/api/v1/cases/{id}/interventions", self.intervention),
            web.post("/api/v1/cases/{id}/events", self.event),
            web.post("/api/v1/cases/{id}/notes", self.note),
            web.post("/api/v1/cases/{id}/follow-ups", self.follow_up),
            web.post("/api/v1/follow-ups/{id}/done", self.follow_up_done),
            web.get("/api/v1/follow-ups", self.due),
            web.post("/api/v1/cases/{id}/close", self.close),
            web.post("/api/v1/cases/{id}/handover", self.handover),
            web.post("/api/v1/contacts/{id}/routing", self.correct),
            web.post("/api/v1/contacts/{id}/notes", self.contact_note),
        ]

    def _today(self) -> date:
        return self.clock().astimezone(HELSINKI).date()

    async def _detail(self, who: Principal, case_id: int, status: int = 200) -> web.Response:
        body = await self.store.call(case_detail, who, case_id, self.step_labels)
        return web.json_response(body, status=status)

    async def show(self, request: web.Request) -> web.Response:
        return await self._detail(require_staff(request), path_id(request))

    async def edit(self, request: web.Request) -> web.Response:
        who, body = require_staff(request), await json_object(request.json)
        version = body.pop("version", None)
        await self.store.call(update_case, who, path_id(request), version, body,
                              self._today(), self.vocab)
        return await self._detail(who, path_id(request))

    async def step(self, request: web.Request) -> web.Response:
        who, body = require_staff(request), await json_object(request.json)
        await self.store.call(add_step, who, path_id(request), body.get("code"),
                              self._at(body.get("at")), self.vocab)
        return await self._detail(who, path_id(request), 201)

    async def intervention(self, request: web.Request) -> web.Response:
        who, body = require_staff(request), await json_object(request.json)
        await self.store.call(add_intervention, who, path_id(request), body.get("code"),
                              _text(body, "note"), self._at(body.get("at")), self.vocab)
        return await self._detail(who, path_id(request), 201)

    async def event(self, request: web.Request) -> web.Response:
        who, body = require_staff(request), await json_object(request.json)
        await self.store.call(add_event, who, path_id(request), body.get("kind"),
                              body.get("code"), _text(body, "text"), self._at(body.get("at")),
                              self.vocab)
        return await self._detail(who, path_id(request), 201)

    async def note(self, request: web.Request) -> web.Response:
        who, body = require_staff(request), await json_object(request.json)
        await self.store.call(add_event, who, path_id(request), "note", None,
                              _text(body, "text"), self.clock(), self.vocab)
        return await self._detail(who, path_id(request), 201)

    async def follow_up(self, request: web.Request) -> web.Response:
        who, body = require_staff(request), await json_object(request.json)
        try:
            due = date.fromisoformat(str(body.get("due")))
        except ValueError as exc:
            raise bad_request("due must be a date (YYYY-MM-DD)", field="due") from exc
        await self.store.call(plan_follow_up, who, path_id(request), due, body.get("kind"),
                              _text(body, "note"), self._today(), self.vocab)
        return await self._detail(who, path_id(request), 201)

    async def follow_up_done(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        done = await self.store.call(complete_follow_up, who, path_id(request), self.clock())
        return await self._detail(who, done.case_id)

    async def due(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        return web.json_response({"items": await self.store.call(due_soon, who,
                                                                 self._today())})

    async def close(self, request: web.Request) -> web.Response:
        who, body = require_staff(request), await json_object(request.json)
        await self.store.call(close_case, who, path_id(request), body.get("outcome"),
                              _text(body, "note"), self.clock(), self.vocab)
        return await self._detail(who, path_id(request))

    async def handover(self, request: web.Request) -> web.Response:
        who, body = require_staff(request), await json_object(request.json)
        await self.store.call(hand_over, who, path_id(request), body.get("to_staff_id"),
                              _text(body, "note"), self.clock())
        return await self._detail(who, path_id(request))

    async def correct(self, request: web.Request) -> web.Response:
        """Correct the router: reason, who contacted, urgency (a routing step each)."""
        who, body = require_staff(request), await json_object(request.json)
        why = _text(body, "why")
        changes = {k: v for k, v in body.items() if k != "why"}
        await self.store.call(correct_routing, who, path_id(request), changes, why,
                              self.vocab.reasons, self.vocab.who_contacted, self.clock())
        return web.json_response({"ok": True})

    async def contact_note(self, request: web.Request) -> web.Response:
        who, body = require_staff(request), await json_object(request.json)
        note = await self.store.call(add_note, who, path_id(request), _text(body, "text"),
                                     self.clock())
        return web.json_response({"id": note.id, "text": note.text,
                                  "at": note.at.isoformat(), "by": who.name}, status=201)

    def _at(self, value: object) -> datetime:
        if value is None:
            return self.clock()
        try:
            parsed = (datetime.fromisoformat(value) if isinstance(value, str) and "T" in value
                      else datetime.combine(date.fromisoformat(str(value)), datetime.min.time(),
                                            HELSINKI))
        except ValueError as exc:
            raise bad_request("at must be a date or a date-time (ISO 8601)", field="at") from exc
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=HELSINKI)
        if parsed.year < 2000:
            raise bad_request("at must be in 2000 or later", field="at", code="at.too_early")
        if parsed > self.clock():
            raise bad_request("at must not be in the future", field="at", code="at.future")
        return parsed


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise bad_request(f"{name} must be text", field=name)
    return value


def cases_openapi() -> dict[str, Any]:
    """The cases part of the OpenAPI document (checked by the schemathesis test)."""
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    staff: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
    case_id = [{"name": "id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}]

    def op(summary: str, props: dict[str, Any] | None = None, required: list[str] | None = None,
           ok: str = "200", method_errors: tuple[int, ...] = (400, 401, 404, 409)
           ) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "summary": summary, "security": staff, "parameters": case_id,
            "responses": {ok: {"description": "The case", "content": {"application/json": {
                "schema": {"type": "object"}}}},
                **{str(c): {"description": "Problem", "content": problem}
                   for c in method_errors}}}
        if props is not None:
            spec["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"type": "object", "required": required or [],
                           "properties": props}}}}
        return spec
    day = {"type": ["string", "null"], "format": "date"}
    return {
        "/api/v1/cases/{id}": {
            "get": op("A case: resident (masked), reasons, dates, timeline, follow-ups",
                      method_errors=(400, 401, 404)),
            "patch": op("Reasons, housing type, key dates — over the version you saw", {
                "version": {"type": "integer"}, "reasons": {"type": "array",
                                                            "items": {"type": "integer"}},
                "housing_type": {"type": ["string", "null"]},
                "eviction_date": {"type": ["string", "null"], "format": "date"},
                "hearing_date": {"type": ["string", "null"], "format": "date"},
                "discharge_date": {"type": ["string", "null"], "format": "date"}},
                ["version"])},
        "/api/v1/cases/{id}/steps": {"post": op("A rent-debt process step", {
            "code": {"type": "integer", "minimum": 1, "maximum": 14}, "at": day},
            ["code"], "201")},
        "/api/v1/cases/{id}/interventions": {"post": op("An intervention", {
            "code": {"type": "string"}, "note": {"type": "string", "maxLength": 20000},
            "at": day}, ["code"], "201")},
        "/api/v1/cases/{id}/events": {"post": op(
            "A partner in network work, a goal, a meeting or home visit, a note", {
                "kind": {"type": "string", "enum": ["partner", "goal", "meeting", "note"]},
                "code": {"type": "string"}, "text": {"type": "string", "maxLength": 20000},
                "at": day}, ["kind"], "201")},
        "/api/v1/cases/{id}/notes": {"post": op("An internal note (never sent)", {
            "text": {"type": "string", "minLength": 1, "maxLength": 20000}}, ["text"], "201")},
        "/api/v1/cases/{id}/follow-ups": {"post": op("Plan a follow-up or interim evaluation", {
            "due": day, "kind": {"type": "string",
                                 "enum": ["follow_up", "interim_evaluation"]},
            "note": {"type": "string", "maxLength": 20000}}, ["due", "kind"], "201")},
        "/api/v1/follow-ups/{id}/done": {"post": op("A follow-up done",
                                                    method_errors=(400, 401, 404))},
        "/api/v1/follow-ups": {"get": {
            "summary": "My follow-ups due this week or overdue", "security": staff,
            "responses": {"200": {"description": "OK"},
                          "401": {"description": "Problem", "content": problem}}}},
        "/api/v1/contacts/{id}/routing": {"post": op(
            "Correct the routing: reason, who contacted, urgency — with why", {
                "reason": {"type": "integer"}, "who_contacted": {"type": "integer"},
                "urgency": {"type": "string", "enum": ["normal", "high", "urgent"]},
                "why": {"type": "string", "minLength": 1, "maxLength": 2000}}, ["why"])},
        "/api/v1/contacts/{id}/notes": {"post": op("An internal note (never sent)", {
            "text": {"type": "string", "minLength": 1, "maxLength": 20000}}, ["text"],
            "201")},
        "/api/v1/cases/{id}/close": {"post": op("Close with an outcome of the logic model", {
            "outcome": {"type": "string"}, "note": {"type": "string", "maxLength": 20000}},
            ["outcome"])},
        "/api/v1/cases/{id}/handover": {"post": op("Hand over to another counsellor", {
            "to_staff_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            "note": {"type": "string", "maxLength": 20000}}, ["to_staff_id"])},
    }
