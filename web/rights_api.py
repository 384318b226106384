"""The resident's rights over HTTP: the export of their data (JSON, or a PDF in their
language), erasure (admins, with a reason; refused while retention runs, with the day it
ends), and the retention job's runs (admins)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from inbox.errors import bad_request, json_object
from inbox.hours import HELSINKI
from inbox.retention import runs
from inbox.rights import RetentionRunning, erase_resident, export_resident
from inbox.store import Store
from web import case_words as w
from web.api import path_id
from web.audit_api import local_time, wants
from web.auth import require_staff
from web.i18n import Catalogs, language
from web.letters import pdf_response
from web.widget import LANGUAGE_NAMES

TEMPLATES = Path(__file__).parent / "templates" / "audit"


@dataclass
class RightsApi:
    store: Store
    catalogs: Catalogs
    clock: Callable[[], datetime]
    retention_years: int = 10

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/v1/residents/{id}/export", self.export),
                web.post("/api/v1/residents/{id}/erase", self.erase),
                web.get("/api/v1/retention/runs", self.runs)]

    async def export(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        asked = request.query.get("format")
        if asked not in (None, "json", "pdf"):
            raise bad_request("format must be json or pdf", field="format",
                              code="format.unknown")
        pdf = asked == "pdf" or (asked is None and wants(request, "pdf"))
        data = await self.store.call(export_resident, who, path_id(request), self.clock(),
                                     "pdf" if pdf else "json")
        rid = data["resident"]["id"]
        if pdf:
            body = await asyncio.to_thread(self.pdf, data)
            return pdf_response(f"yhteys-export-{rid}.pdf", body)
        response = web.json_response(data)
        response.headers["Content-Disposition"] = (
            f'attachment; filename="yhteys-export-{rid}.json"')
        return response

    async def erase(self, request: web.Request) -> web.Response:
        who, body = require_staff(request), await json_object(request.json)
        try:
            done = await self.store.call(erase_resident, who, path_id(request),
                                         body.get("reason"), self.clock(),
                                         self.retention_years)
        except RetentionRunning as running:  # a problem body with the day it ends
            return web.json_response(
                {"type": running.type, "title": running.title, "status": running.status,
                 "detail": running.detail, "code": running.code,
                 "retention_ends": running.ends.isoformat() if running.ends else None,
                 "open_case": running.ends is None},
                status=running.status, content_type="application/problem+json")
        return web.json_response(done)

    async def runs(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        return web.json_response({"items": await self.store.call(runs, who)})

    def html(self, data: dict[str, Any]) -> str:
        """The export as HTML in the resident's language, every code in words (languages
        named in their own, as the UI names them)."""
        lang = language(data["resident"]["language"])
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
        env.filters["when"] = local_time
        env.globals["entry"] = entry_words(lambda m: self.catalogs.gettext(lang, m))
        return env.get_template("export.html").render(
            **self.catalogs.for_language(lang), data=data, languages=LANGUAGE_NAMES,
            made=self.clock().astimezone(HELSINKI).strftime("%-d.%-m.%Y"))

    def pdf(self, data: dict[str, Any]) -> bytes:
        """On A4; WeasyPrint fetches nothing."""
        from weasyprint import HTML

        pdf: bytes = HTML(string=self.html(data), url_fetcher=_refuse).write_pdf()
        return pdf


def entry_words(gettext: Callable[[str], str]) -> Callable[[str, object], str]:
    """A case entry (its kind and taxonomy code) in the reader's words, as the case page
    says it; a code the tables do not know is shown as it is."""
    tables: dict[str, dict[Any, str]] = {
        "step": w.STEPS, "intervention": w.INTERVENTIONS, "partner": w.PARTNERS,
        "meeting": w.MEETINGS, "closed": w.OUTCOMES, "outcome": w.OUTCOMES}

    def words(kind: str, code: object) -> str:
        what = gettext(w.EVENTS[kind]) if kind in w.EVENTS else kind
        table = tables.get(kind, {})
        key: object = int(str(code)) if kind == "step" and str(code).isdigit() else code
        if code in (None, ""):
            return what
        named = gettext(table[key]) if key in table else str(code)
        return named if kind == "outcome" else f"{what}: {named}"
    return words


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the export fetches nothing ({url})")


def rights_openapi() -> dict[str, Any]:
    rid = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    auth: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
    return {
        "/api/v1/residents/{id}/export": {"get": {
            "summary": "All of a resident's data (their right of access), as JSON or PDF in "
                       "their language; logged as a disclosure",
            "security": auth,
            "parameters": [rid, {"name": "format", "in": "query",
                                 "schema": {"type": "string", "enum": ["json", "pdf"]}}],
            "responses": {"200": {"description": "identity, contacts with messages and "
                                                 "attachments (base64), notes, callbacks, "
                                                 "calls, cases with events and follow-ups"},
                          "400": {"description": "an unknown format"},
                          "403": {"description": "leads, admins and the resident's own "
                                                 "counsellor only"},
                          "404": {"description": "no such resident (or not yours)"}}}},
        "/api/v1/residents/{id}/erase": {"post": {
            "summary": "Anonymise a resident (admins), where the retention period allows",
            "security": auth, "parameters": [rid],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["reason"],
                "properties": {"reason": {"type": "string", "maxLength": 1000}}}}}},
            "responses": {"200": {"description": "what was anonymised (counts)"},
                          "400": {"description": "no reason given"},
                          "403": {"description": "admins only"},
                          "404": {"description": "no such resident"},
                          "409": {"description": "retention.running (with retention_ends, "
                                                 "null while a case is open) or erased "
                                                 "already"}}}},
        "/api/v1/retention/runs": {"get": {
            "summary": "The retention job's latest runs: what it removed, who is due",
            "security": auth,
            "responses": {"200": {"description": "runs, newest first"},
                          "403": {"description": "admins only"}}}},
    }
