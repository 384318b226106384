"""The inbox a counsellor works from: folders of contacts and this week's follow-ups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from inbox.followups import due_soon
from inbox.hours import HELSINKI
from inbox.store import Store
from inbox.views import FOLDERS, list_contacts
from web.auth import require_staff
from web.pages import render_page
from web.routing_text import RoutingText
from web.ui_language import ui_language


@dataclass
class InboxPage:
    store: Store
    text: RoutingText
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # "this week" of follow-ups

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/", self.home), web.get("/inbox", self.inbox)]

    async def home(self, request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/inbox")

    async def inbox(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        default = "all" if who.sees_all_areas else "areas"
        folder = request.query.get("folder", default)
        folder = folder if folder in FOLDERS else default
        items = await self.store.call(list_contacts, who, folder, "page.inbox")
        lang = ui_language(request)
        items = [self.text.contact(lang, c) for c in items]
        transferred = request.query.get("transferred", "")
        follow_ups = await self.store.call(due_soon, who,
                                           self.clock().astimezone(HELSINKI).date())
        return render_page(request, "inbox.html", who, items=items, folder=folder,
                           transferred=transferred if transferred.isdigit() else None,
                           follow_ups=follow_ups)
