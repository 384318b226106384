"""The logs the Act requires, for auditors: the use log and the disclosure log (JSON or
CSV), and a resident's log report (JSON, CSV or PDF in the resident's language)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from inbox.disclosures import LogQuery, disclosures, resident_log, use_log
from inbox.errors import bad_request
from inbox.hours import HELSINKI
from inbox.store import Store
from web.api import path_id
from web.auth import require_staff
from web.case_words import N_
from web.i18n import Catalogs, language
from web.letters import pdf_response

TEMPLATES = Path(__file__).parent / "templates" / "audit"
USE_COLUMNS = ("id", "at", "staff_id", "staff", "role", "view", "action", "basis",
               "resident_id", "contact_id", "case_id")
DISCLOSURE_COLUMNS = ("id", "at", "staff_id", "staff", "kind", "recipient", "basis", "detail",
                      "resident_id", "contact_id", "case_id")

# The logs' codes in words, for the auditor's page and the resident's log report alike.
ACTIONS = {"read": N_("read"), "write": N_("change"), "refused": N_("refused")}
BASES = {
    "assigned": N_("assigned to them"), "own_area": N_("own area"),
    "pool": N_("city-wide pool"), "other": N_("another area"), "lead": N_("lead"),
    "admin": N_("admin"), "auditor": N_("auditor"), "counsellor": N_("counsellor"),
    "partner_cooperation": N_("cooperation with a partner"),
    "resident_own_matter": N_("the resident's own matter"),
    "right_to_log_data": N_("the resident's right to log data"),
    "resident_request": N_("the resident's request"),
}
KINDS = {"partner_mail": N_("mail to a partner"), "secure_message": N_("secure message"),
         "log_report": N_("log report"), "export": N_("export of the resident's data")}
RECIPIENTS = {"resident": N_("the resident")}
VIEWS = (  # what a use-log row's view read, by its prefix; the first that matches
    ("rights.export", N_("export of the resident's data")),
    ("rights.erase", N_("erasure of the resident's data")),
    ("audit.", N_("the use and disclosure logs")), ("case", N_("the resident's case")),
    ("follow_ups", N_("the resident's case")), ("call", N_("calls and callbacks")),
    ("api.calls", N_("calls and callbacks")), ("telephony", N_("calls and callbacks")),
    ("api.residents", N_("the resident's details")),
    ("attachment", N_("an attachment")),
)
OTHER_VIEW = N_("a contact and its messages")
LOG_WORDS = {"actions": ACTIONS, "bases": BASES, "kinds": KINDS, "recipients": RECIPIENTS}


def view_words(view: str) -> str:
    """The message id saying what a use-log view read (contacts and messages unless it
    was one of the other records)."""
    return next((words for prefix, words in VIEWS if view.startswith(prefix)), OTHER_VIEW)


def csv_response(name: str, columns: tuple[str, ...], rows: list[dict[str, Any]]
                 ) -> web.Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                                 "Cache-Control": "no-store"})


def wants(request: web.Request, kind: str, allowed: tuple[str, ...] = ("csv",)) -> bool:
    asked = request.query.get("format")
    if asked is not None and asked not in allowed:
        raise bad_request(f"format must be one of {', '.join(allowed)} (or none for JSON)",
                          field="format", code="format.unknown")
    return (asked == kind
            or f"/{kind}" in request.headers.get("Accept", "").split(",")[0])


def local_time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(HELSINKI).strftime("%-d.%-m.%Y %H.%M")


@dataclass
class AuditApi:
    store: Store
    catalogs: Catalogs
    clock: Callable[[], datetime]

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/v1/audit/use-log", self.listing(
                    use_log, "yhteys-use-log", USE_COLUMNS)),
                web.get("/api/v1/audit/disclosures", self.listing(
                    disclosures, "yhteys-disclosures", DISCLOSURE_COLUMNS)),
                web.get("/api/v1/residents/{id}/access-log", self.resident)]

    def listing(self, read: Callable[..., list[dict[str, Any]]], name: str,
                columns: tuple[str, ...]) -> Callable[[web.Request], Awaitable[web.Response]]:
        """One log, filtered, as JSON or CSV."""
        async def handler(request: web.Request) -> web.Response:
            who, query = require_staff(request), LogQuery.parse(request.query)
            rows = await self.store.call(read, who, query)
            if wants(request, "csv"):
                return csv_response(name, columns, rows)
            return web.json_response({"items": rows})
        return handler

    async def resident(self, request: web.Request) -> web.Response:
        who, query = require_staff(request), LogQuery.parse(request.query)
        report = await self.store.call(resident_log, who, path_id(request), query)
        rid = report["resident"]["id"]
        if wants(request, "csv", ("csv", "pdf")):
            rows = ([{"log": "use", **u} for u in report["uses"]]
                    + [{"log": "disclosure", **d} for d in report["disclosures"]])
            columns = ("log", *dict.fromkeys(USE_COLUMNS + DISCLOSURE_COLUMNS))
            return csv_response(f"yhteys-log-report-{rid}", columns, rows)
        if wants(request, "pdf", ("csv", "pdf")):
            pdf = await asyncio.to_thread(self.pdf, report)
            return pdf_response(f"yhteys-log-report-{rid}.pdf", pdf)
        return web.json_response(report)

    def html(self, report: dict[str, Any]) -> str:
        """The report as HTML in the resident's language, every code in words."""
        lang = language(report["resident"]["language"])
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
        for item in (*report["uses"], *report["disclosures"]):
            item["when"] = local_time(item["at"])
        return env.get_template("log_report.html").render(
            **self.catalogs.for_language(lang), **LOG_WORDS, view_words=view_words,
            report=report, made=self.clock().astimezone(HELSINKI).strftime("%-d.%-m.%Y"))

    def pdf(self, report: dict[str, Any]) -> bytes:
        """The report on A4 (WeasyPrint; it fetches nothing)."""
        from weasyprint import HTML

        pdf: bytes = HTML(string=self.html(report), url_fetcher=_refuse).write_pdf()
        return pdf


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the log report fetches nothing ({url})")


def audit_openapi() -> dict[str, Any]:
    filters = [{"name": n, "in": "query", "schema": {"type": t, **({"format": f} if f else {})}}
               for n, t, f in (("resident", "integer", None), ("staff", "integer", None),
                               ("from", "string", "date"), ("to", "string", "date"))]
    fmt = {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["csv"]}}
    refusals = {"400": {"description": "a bad filter"},
                "403": {"description": "auditors only"}}

    def listing(summary: str) -> dict[str, Any]:
        return {"get": {"summary": summary, "security": [{"bearer": []}, {"session": []}],
                        "parameters": [*filters, fmt],
                        "responses": {"200": {"description": "rows, newest first (JSON or CSV)"},
                                      **refusals}}}
    return {
        "/api/v1/audit/use-log": listing("The use log (käyttöloki), for auditors"),
        "/api/v1/audit/disclosures": listing("The disclosure log (luovutusloki), for auditors"),
        "/api/v1/residents/{id}/access-log": {"get": {
            "summary": "A resident's log report: who used their data, to whom it was disclosed",
            "security": [{"bearer": []}, {"session": []}],
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}, *filters[2:],
                           {"name": "format", "in": "query",
                            "schema": {"type": "string", "enum": ["csv", "pdf"]}}],
            "responses": {"200": {"description": "JSON, CSV or PDF"}, **refusals,
                          "404": {"description": "no such resident"}}}},
    }
