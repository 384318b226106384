"""The inbox a counsellor works from all day: search and filters over their folders, pages,
counts per folder, this week's follow-ups; and one row at a time for the live page.

The query string is the API's (`GET /api/v1/contacts`, parsed by `web.api.contact_query`),
so a search on the page and in the API find the same. A live event names one contact:
GET /inbox/rows/{id} with the page's own query answers with that one row, or null when it
no longer belongs here or is not this counsellor's to see (the same answer as for an id
that does not exist), and the folder counts; it reads one contact and logs that one read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.access import Principal, log_access
from inbox.errors import Problem, not_found
from inbox.followups import due_soon
from inbox.hours import HELSINKI
from inbox.models import Area, Contact
from inbox.search import (
    FOLDERS,
    ContactQuery,
    count_contacts,
    find_contacts,
    folder_counts,
    matches,
)
from inbox.staff import staff_directory
from inbox.store import Store
from inbox.views import contact_json, visible_contact
from web.api import contact_query, path_id
from web.auth import PRINCIPAL, require_staff
from web.case_words import CHANNELS, CONTACT_STATUS, URGENCY, code_words
from web.pages import counsellor_words, render_page
from web.routing_text import RoutingText
from web.ui_language import UI_LANGUAGES, ui_language

PER_PAGE = (10, 25, 50, 100)
FILTERS = ("q", "channel", "status", "urgency", "area", "assignee", "waiting_min")
Gettext = Callable[..., str]


def waiting_text(gettext: Gettext, seconds: int) -> str:
    """"2 h 5 min" in the reader's words (inbox.js keeps it ticking with the same words)."""
    minutes = max(0, seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return gettext("{days} d {hours} h").format(days=days, hours=hours)
    if hours:
        return gettext("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    if minutes:
        return gettext("{minutes} min").format(minutes=minutes)
    return gettext("less than a minute")


def _row(session: Session, contact: Contact, now: datetime) -> dict[str, Any]:
    item = contact_json(session, contact)
    waiting = contact.status == "open"
    item["waiting_s"] = int((now - contact.updated_at).total_seconds()) if waiting else None
    # The server's order as one string: open first, urgency, longest waiting, id.
    item["order"] = (f"{contact.queue_rank}"
                     f"{contact.updated_at.astimezone(UTC):%Y%m%d%H%M%S%f}{contact.id:012d}")
    return item


def _page(session: Session, who: Principal, query: ContactQuery, now: datetime
          ) -> dict[str, Any]:
    contacts, total, capped = find_contacts(session, who, query, now, "page.inbox")
    return {"items": [_row(session, c, now) for c in contacts], "total": total,
            "total_capped": capped,
            "counts": folder_counts(session, who, now), "staff": staff_directory(session),
            "areas": list(session.scalars(select(Area.code).order_by(Area.code)))}


def _one_row(session: Session, who: Principal, query: ContactQuery, contact_id: int,
             now: datetime) -> dict[str, Any]:
    """The row of one contact when it is in this query; one read logged. `visible` is False
    for a contact this staff member may not see, as for one that does not exist."""
    try:
        contact: Contact | None = visible_contact(session, who, contact_id)
    except Problem:
        return {"visible": False, "item": None, **_counts(session, who, query, now)}
    if not matches(session, who, query, now, contact_id):
        contact = None
    if contact is not None:
        log_access(session, who, "page.inbox.row", contact=contact)
    return {"visible": True, "item": _row(session, contact, now) if contact else None,
            **_counts(session, who, query, now)}


def _counts(session: Session, who: Principal, query: ContactQuery, now: datetime
            ) -> dict[str, Any]:
    total, capped = count_contacts(session, who, query, now)
    return {"counts": folder_counts(session, who, now), "total": total, "total_capped": capped}


@dataclass(frozen=True)
class PageQuery:
    """The page's query: the API's ContactQuery, what of it was left out as not understood,
    and the parameters to carry on the page's links."""

    query: ContactQuery
    refused: tuple[str, ...]
    params: dict[str, str]

    def url(self, **changes: object) -> str:
        """/inbox with these parameters changed (an empty value drops one); page 1 unless
        given."""
        merged = {**self.params, "page": "", **{k: str(v) for k, v in changes.items()}}
        kept = {k: v for k, v in merged.items() if v not in ("", "None")}
        return "/inbox" + ("?" + urlencode(kept) if kept else "")

    @property
    def cleared(self) -> str:
        """This folder without the search and filters."""
        return self.url(**dict.fromkeys(FILTERS, ""))

    @property
    def filtered(self) -> bool:
        return any(self.params.get(name) for name in FILTERS)

    @property
    def active_filters(self) -> int:
        """How many filters (not the search words) are in use."""
        return sum(1 for name in FILTERS[1:] if self.params.get(name))


def page_query(request: web.Request, who: Principal) -> PageQuery:
    """The API's parsing of the query string; a value it refuses is left out and named, so
    a hand-edited address still shows the inbox."""
    refused: list[str] = []
    if request.query.get("folder", FOLDERS[1]) not in FOLDERS:
        refused.append("folder")
    while True:
        kept = [(k, v) for k, v in request.query.items() if k not in refused]
        try:
            query = contact_query(request.clone(rel_url=request.rel_url.with_query(kept)), who)
            break
        except Problem as problem:
            if problem.field is None or problem.field in refused:
                raise
            refused.append(problem.field)
    per_page = request.query.get("per_page", "")
    if per_page.isdigit() and int(per_page) in PER_PAGE:
        query = replace(query, per_page=int(per_page))
    params = {name: request.query.get(name, "") for name in FILTERS if name not in refused}
    params["folder"] = query.folder
    params["per_page"] = str(query.per_page) if query.per_page != 50 else ""
    if request.query.get("lang") in UI_LANGUAGES:
        params["lang"] = request.query["lang"]
    return PageQuery(query, tuple(refused), params)


@dataclass
class InboxPage:
    store: Store
    text: RoutingText
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # "this week" of follow-ups

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/", self.home), web.get("/inbox", self.inbox),
                web.get("/inbox/rows/{id}", self.row), web.get("/inbox/counts", self.counts)]

    async def home(self, request: web.Request) -> web.Response:
        """The inbox; an auditor, who works no contacts, lands on the logs (/audit)."""
        who = request.get(PRINCIPAL)
        raise web.HTTPSeeOther("/audit" if who is not None and who.can("audit") else "/inbox")

    def _words(self, request: web.Request) -> dict[str, Any]:
        gettext = counsellor_words(request).get("_", lambda message, **_: message)
        return {"channel": code_words(gettext, CHANNELS),
                "status": code_words(gettext, CONTACT_STATUS),
                "urgency": code_words(gettext, URGENCY)}

    def _rendered(self, request: web.Request, item: dict[str, Any]) -> dict[str, Any]:
        """A row's codes and times in the reader's words."""
        lang = ui_language(request)
        gettext = counsellor_words(request).get("_", lambda message, **_: message)
        item = self.text.contact(lang, item)
        item["area_text"] = self.text.area(lang, item["area"])
        seconds = item["waiting_s"]
        item["waiting_text"] = waiting_text(gettext, seconds) if seconds is not None else None
        return item

    async def inbox(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        asked = page_query(request, who)
        found = await self.store.call(_page, who, asked.query, self.clock())
        lang = ui_language(request)
        transferred = request.query.get("transferred", "")
        follow_ups = await self.store.call(due_soon, who,
                                           self.clock().astimezone(HELSINKI).date())
        query = asked.query
        return render_page(
            request, "inbox.html", who, asked=asked, query=query, folder=query.folder,
            items=[self._rendered(request, c) for c in found["items"]], total=found["total"],
            total_capped=found["total_capped"],
            pages=max(1, -(-found["total"] // query.per_page)), counts=found["counts"],
            assignees=[(s["id"], s["name"]) for s in found["staff"] if s["id"] != who.staff_id],
            per_page_choices=PER_PAGE,
            areas=[(code, self.text.area(lang, code)) for code in found["areas"]],
            words=self._words(request), follow_ups=follow_ups,
            transferred=transferred if transferred.isdigit() else None)

    async def row(self, request: web.Request) -> web.Response:
        """{"row": "<tr…>" or null, "counts", "total"}; 404 (with a null row and the counts)
        for a contact one may not see, as for one that does not exist."""
        who = require_staff(request)
        query = page_query(request, who).query
        contact_id = path_id(request)
        found = await self.store.call(_one_row, who, query, contact_id, self.clock())
        html = None
        if found["item"] is not None:
            html = aiohttp_jinja2.render_string(
                "_inbox_row.html", request,
                {"who": who, **counsellor_words(request), "words": self._words(request),
                 "c": self._rendered(request, found["item"])}).strip()
        body = {"row": html, "counts": found["counts"], "total": found["total"],
                "total_capped": found["total_capped"]}
        if found["visible"]:
            return web.json_response(body)
        missing = not_found(f"contact {contact_id}")
        return web.json_response({"type": missing.type, "title": missing.title, "status": 404,
                                  "detail": missing.detail, **body}, status=404,
                                 content_type="application/problem+json")

    async def counts(self, request: web.Request) -> web.Response:
        """The folder counts and this query's total: a page that just connected checks them
        to know whether anything arrived while it was being served."""
        who = require_staff(request)
        query = page_query(request, who).query
        return web.json_response(await self.store.call(_counts, who, query, self.clock()))
