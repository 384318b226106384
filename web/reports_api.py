"""GET /api/v1/reports/{name}?from=&to=&area=: one figure as JSON, or as CSV with
`Accept: text/csv` (or `?format=csv`), with the domain's codes and Finnish labels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from inbox.access import Principal
from inbox.figures import FIGURES, Period, figure, period
from inbox.hours import HELSINKI
from inbox.store import Store
from web.audit_api import csv_response, wants
from web.auth import require_staff
from web.report_words import ReportWords

CSV_COLUMNS = {"first-answer": ("code", "area", "label", "count", "median_s", "p90_s")}


def default_period(query: Any, now: datetime) -> tuple[str, str, str | None]:
    """The query's period, or the last 30 days up to today (Helsinki)."""
    today = now.astimezone(HELSINKI).date()  # a date given empty is no date: refused
    return (query.get("from", (today - timedelta(days=29)).isoformat()),
            query.get("to", today.isoformat()), query.get("area") or None)


@dataclass
class ReportsApi:
    store: Store
    words: ReportWords
    clock: Callable[[], datetime]

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/v1/reports/{name}", self.report)]

    def chosen(self, session: Session, who: Principal, first: str, last: str,
               area: str | None) -> Period:
        """The period asked, checked once (as of the service's today)."""
        return period(session, who, first, last, area, self.clock().astimezone(HELSINKI).date())

    def compute(self, session: Session, who: Principal, name: str, chosen: Period,
                lang: str = "fi") -> dict[str, Any]:
        """A figure with each item's words in `lang` (shared with the /reports page)."""
        result = figure(session, who, name, chosen, self.words.order(name))
        for item in result["items"]:
            item["label"] = self.words.label(lang, name, item)
        return result

    def _report(self, session: Session, who: Principal, name: str, first: str, last: str,
                area: str | None) -> tuple[Period, dict[str, Any]]:
        chosen = self.chosen(session, who, first, last, area)
        return chosen, self.compute(session, who, name, chosen)

    async def report(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        name = request.match_info["name"]
        as_csv = wants(request, "csv")  # a format it cannot give is refused before any work
        first, last, area = default_period(request.query, self.clock())
        chosen, result = await self.store.call(self._report, who, name, first, last, area)
        body = {"report": name, "from": chosen.first.isoformat(), "to": chosen.last.isoformat(),
                "area": chosen.area, **result}
        if not as_csv:
            return web.json_response(body)
        return csv_response(f"yhteys-{name}-{body['from']}-{body['to']}",
                            CSV_COLUMNS.get(name, ("code", "label", "count")), result["items"])


def reports_openapi() -> dict[str, Any]:
    item = {"type": "object", "required": ["code", "label", "count"],
            "properties": {"code": {}, "label": {"type": "string"},
                           "count": {"type": "integer"}}}
    return {"/api/v1/reports/{name}": {"get": {
        "summary": "One of the service's figures for a period and an area",
        "parameters": [
            {"name": "name", "in": "path", "required": True,
             "schema": {"type": "string", "enum": list(FIGURES)}},
            {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "area", "in": "query", "schema": {"type": "string"}},
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["csv"]}}],
        "responses": {
            "200": {"description": "items with codes, Finnish labels and counts",
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": {
                            "items": {"type": "array", "items": item},
                            "total": {"type": "integer"}}}},
                        "text/csv": {"schema": {"type": "string"}}}},
            "400": {"description": "a bad period or an unknown area"},
            "403": {"description": "another area's figures, asked by a counsellor"},
            "404": {"description": "no such report"}}}}}
