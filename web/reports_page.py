"""/reports: every figure for a period and an area as a chart and an accessible table.

Charts are SVG drawn on the server: nothing to run in the browser (the strict CSP stays),
they print as they look, and each one's table beside it carries the same numbers for
screen readers and copying. A bar's length is its share of the figure's largest count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.access import Principal
from inbox.errors import Problem
from inbox.figures import FIGURES
from inbox.models import Area
from web.auth import require_staff
from web.inbox_page import Gettext, waiting_text
from web.pages import render_page
from web.report_words import PERIOD_ERRORS
from web.reports_api import ReportsApi, default_period
from web.routing_text import RoutingText
from web.ui_language import ui_language

BAR_ROW, LABEL_W, BAR_W = 28, 260, 300  # px in the SVG's own units; it scales to fit


def duration_text(gettext: Gettext, seconds: float | None) -> str:
    """A duration in the reader's words, as the inbox says a waiting time."""
    if seconds is None:
        return "–"  # noqa: RUF001 (a dash for "none", as in print)
    return waiting_text(gettext, round(seconds))


def chart(items: list[dict[str, Any]], gettext: Gettext, value: str = "count"
          ) -> dict[str, Any]:
    """Bars with their geometry: a bar per item, scaled to the largest value."""
    top = max((item.get(value) or 0 for item in items), default=0) or 1
    bars = []
    for row, item in enumerate(items):
        amount = item.get(value) or 0
        bars.append({"label": item["label"], "y": row * BAR_ROW,
                     "width": round(BAR_W * amount / top, 1), "value": amount,
                     "text": duration_text(gettext, amount) if value.endswith("_s")
                     else str(amount)})
    return {"bars": bars, "height": max(1, len(items)) * BAR_ROW, "label_w": LABEL_W,
            "width": LABEL_W + BAR_W + 80}


@dataclass
class ReportsPage:
    api: ReportsApi

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/reports", self.page)]

    def _figures(self, session: Session, who: Principal, first: str, last: str,
                 area: str | None, lang: str) -> dict[str, Any]:
        """The period checked once, then every figure for it."""
        chosen = self.api.chosen(session, who, first, last, area)
        gettext = self.api.words.gettext(lang)
        shown = []
        for name in FIGURES:
            result = self.api.compute(session, who, name, chosen, lang)
            value = "median_s" if name == "first-answer" else "count"
            for item in result["items"]:
                item["median_text"] = duration_text(gettext, item.get("median_s"))
                item["p90_text"] = duration_text(gettext, item.get("p90_s"))
            shown.append({"name": name, "title": self.api.words.title(lang, name),
                          "chart": chart(result["items"], gettext, value), **result})
        return {"figures": shown, "period": chosen}

    def _areas(self, session: Session, who: Principal) -> list[str]:
        codes = list(session.scalars(select(Area.code).order_by(Area.code)))
        return codes if who.sees_all_areas else [c for c in codes if c in who.areas]

    async def page(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        lang = ui_language(request)
        first, last, area = default_period(request.query, self.api.clock())
        text = RoutingText(self.api.words.catalogs)
        areas = await self.api.store.call(self._areas, who)
        context: dict[str, Any] = {
            "first": first, "last": last, "area": area,
            "areas": [(code, text.area(lang, code)) for code in areas],
            "all_areas": who.sees_all_areas, "printable": request.query.get("print") == "1",
            "csv_query": {"from": first, "to": last, **({"area": area} if area else {})}}
        try:
            context.update(await self.api.store.call(self._figures, who, first, last, area,
                                                     lang))
        except Problem as problem:
            context.update(figures=[], error=PERIOD_ERRORS.get(problem.code or "", problem.title),
                           error_field=problem.field)
            response = render_page(request, "reports.html", who, **context)
            response.set_status(problem.status)  # the form again, saying what was wrong
            return response
        return render_page(request, "reports.html", who, **context)
