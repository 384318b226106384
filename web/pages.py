"""The counsellor UI (server-rendered; small scripts make it live) and the resident chat page."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp_jinja2
from aiohttp import web

from inbox.access import Principal
from inbox.outbound import Outbound
from inbox.phone import claim_next, open_callbacks
from inbox.store import Store
from inbox.views import FOLDERS, contact_detail, list_contacts, message_html
from web.api import path_id
from web.auth import CSRF, require_staff

FRAME_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def _page(request: web.Request, template: str, who: Principal | None, **context: object
          ) -> web.Response:
    return aiohttp_jinja2.render_template(
        template, request, {"who": who, "csrf_token": request.get(CSRF), **context})


@dataclass
class Pages:
    store: Store
    outbound: Outbound

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.home),
            web.get("/inbox", self.inbox),
            web.get("/contacts/{id}", self.contact),
            web.post("/contacts/{id}/reply", self.reply),
            web.get("/contacts/{id}/messages/{mid}/html", self.html_frame),
            web.get("/callbacks", self.callbacks),
            web.post("/callbacks/claim", self.claim),
            web.get("/chat", self.chat),
        ]

    async def home(self, request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/inbox")

    async def inbox(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        default = "all" if who.sees_all_areas else "areas"
        folder = request.query.get("folder", default)
        folder = folder if folder in FOLDERS else default
        items = await self.store.call(list_contacts, who, folder, "page.inbox")
        return _page(request, "inbox.html", who, items=items, folder=folder)

    async def contact(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        contact = await self.store.call(contact_detail, who, path_id(request), "page.contact")
        return _page(request, "contact.html", who, contact=contact)

    async def reply(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        contact_id = path_id(request)
        form = await request.post()
        await self.outbound.reply(who, contact_id, str(form.get("text", "")))
        raise web.HTTPSeeOther(f"/contacts/{contact_id}")

    async def html_frame(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        html = await self.store.call(message_html, who, path_id(request),
                                     path_id(request, "mid"))
        response = web.Response(text=html, content_type="text/html")
        response.headers["Content-Security-Policy"] = FRAME_CSP + "; frame-ancestors 'self'"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return response

    async def callbacks(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        items = await self.store.call(open_callbacks, who, "page.callbacks")
        return _page(request, "callbacks.html", who, items=items,
                     claimed=request.query.get("claimed"))

    async def claim(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        callback = await self.store.call(claim_next, who)
        target = f"/callbacks?claimed={callback.id}" if callback else "/callbacks?claimed=none"
        raise web.HTTPSeeOther(target)

    async def chat(self, request: web.Request) -> web.Response:
        return _page(request, "chat.html", None)
