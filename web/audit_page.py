"""/audit: the auditor's page. Filters (resident, staff member, period), the use log and
the disclosure log as tables (newest first, the first rows of each; the CSV links give them
all), and a resident's log report as PDF or CSV for a period.

It reads the logs through inbox/disclosures.py, so each showing is itself logged. Other
roles get a page saying the logs are the auditors' (403). The report form is a plain GET
that this page answers with a redirect to the report's address, after checking it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.access import Principal
from inbox.disclosures import LogQuery, disclosures, use_log
from inbox.errors import Problem
from inbox.models import Resident, Staff
from inbox.store import Store
from web.audit_api import LOG_WORDS, local_time
from web.auth import require_staff
from web.case_words import N_
from web.pages import render_page
from web.ui_language import UI_LANGUAGES

SHOWN = 100  # rows of each log on the page
FILTER_ERRORS = {
    "resident.invalid": N_("The resident's number must be a whole number."),
    "staff.invalid": N_("Choose the staff member from the list."),
    "period.date": N_("Give the dates as dates."),
    "period.reversed": N_("The start of the period is after its end."),
}

def _logs(session: Session, who: Principal, query: LogQuery) -> dict[str, Any]:
    uses = use_log(session, who, query)
    given = disclosures(session, who, query)
    return {"uses": uses[:SHOWN], "uses_total": len(uses), "disclosures": given[:SHOWN],
            "disclosures_total": len(given), "staff": _staff(session)}


def _staff(session: Session) -> list[tuple[int, str]]:
    return [(i, n) for i, n in session.execute(select(Staff.id, Staff.name)
                                               .order_by(Staff.name, Staff.id))]


def _resident_exists(session: Session, resident_id: int) -> bool:
    return session.get(Resident, resident_id) is not None


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass
class AuditPage:
    store: Store
    clock: Callable[[], datetime]

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/audit", self.page)]

    async def page(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        if not who.can("audit"):
            response = render_page(request, "audit.html", who, nav="audit", denied=True)
            response.set_status(403)
            return response
        q = request.query
        kept = {"lang": q["lang"]} if q.get("lang") in UI_LANGUAGES else {}
        filters = {name: q.get(name, "").strip() for name in ("resident", "staff", "from",
                                                              "to")}
        report = {name: q.get(f"report_{name}", "").strip()
                  for name in ("resident", "from", "to", "format")}
        context: dict[str, Any] = {"nav": "audit", "filters": filters, "report": report,
                                   "shown": SHOWN, **LOG_WORDS, "when": local_time}
        status = 200
        if q.get("report"):
            error, field = await self._report_error(report)
            if error is None:
                address = {"format": report["format"] or "pdf",
                           **{k: report[k] for k in ("from", "to") if report[k]}}
                raise web.HTTPSeeOther(f"/api/v1/residents/{int(report['resident'])}"
                                       f"/access-log?{urlencode(address)}")
            context.update(report_error=error, report_field=field)
            status = 400
        try:
            query = LogQuery.parse({k: v for k, v in filters.items() if v})
        except Problem as problem:
            context.update(filter_error=FILTER_ERRORS.get(problem.code or "", problem.title),
                           filter_field=problem.field, staff=await self.store.call(_staff))
            status = 400
        else:
            context.update(await self.store.call(_logs, who, query))
            csv_query = {**{k: v for k, v in filters.items() if v}, "format": "csv"}
            context["csv_query"] = urlencode(csv_query)
        context["kept"] = kept
        response = render_page(request, "audit.html", who, **context)
        response.set_status(status)
        return response

    async def _report_error(self, report: dict[str, str]) -> tuple[str | None, str | None]:
        """Why the report cannot be made as asked (words for the form), or None."""
        rid = report["resident"]
        if not (rid.isascii() and rid.isdigit() and 0 < len(rid) <= 9):
            return N_("Give the resident's number."), "resident"
        first, last = _day(report["from"]), _day(report["to"])
        if (report["from"] and first is None) or (report["to"] and last is None):
            return N_("Give the dates as dates."), "from" if first is None else "to"
        if first and last and first > last:
            return N_("The start of the period is after its end."), "from"
        if report["format"] not in ("", "pdf", "csv"):
            return N_("Choose PDF or CSV."), "format"
        if not await self.store.call(_resident_exists, int(rid)):
            return N_("There is no resident with this number."), "resident"
        return None, None
