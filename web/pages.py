"""The counsellor UI (server-rendered; small scripts make it live)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from inbox.access import Principal
from inbox.contacts import close, take
from inbox.outbound import Outbound
from inbox.phone import claim_next, finish_callback, log_call_on_contact, open_callbacks
from inbox.staff import set_availability
from inbox.store import Store
from inbox.views import FOLDERS, attachment_data, contact_detail, list_contacts, message_html
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
            web.post("/contacts/{id}/take", self.take),
            web.post("/contacts/{id}/close", self.close),
            web.post("/contacts/{id}/call", self.log_call),
            web.get("/contacts/{id}/attachments/{aid}", self.attachment),
            web.get("/contacts/{id}/messages/{mid}/html", self.html_frame),
            web.get("/callbacks", self.callbacks),
            web.post("/callbacks/claim", self.claim),
            web.post("/callbacks/{id}/outcome", self.callback_outcome),
            web.post("/me/availability", self.availability),
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

    async def take(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        await self.store.call(take, who, path_id(request))
        raise web.HTTPSeeOther(f"/contacts/{path_id(request)}")

    async def close(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        await self.store.call(close, who, path_id(request))
        raise web.HTTPSeeOther("/inbox")

    async def log_call(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        form = await request.post()
        minutes = str(form.get("minutes", "")).strip()
        await self.store.call(log_call_on_contact, who, path_id(request),
                              direction=str(form.get("direction", "out")),
                              notes=str(form.get("notes", "")).strip(),
                              duration_s=int(minutes) * 60
                              if minutes.isascii() and minutes.isdigit() else None)
        raise web.HTTPSeeOther(f"/contacts/{path_id(request)}")

    async def attachment(self, request: web.Request) -> web.Response:
        """Always a download, never rendered here: the bytes come from outside."""
        who = require_staff(request)
        found = await self.store.call(attachment_data, who, path_id(request),
                                      path_id(request, "aid"))
        filename, data = found
        response = web.Response(body=data, content_type="application/octet-stream")
        response.headers["Content-Disposition"] = (
            f"attachment; filename*=UTF-8''{quote(filename)}")
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

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

    async def callback_outcome(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        form = await request.post()
        await self.store.call(finish_callback, who, path_id(request),
                              str(form.get("outcome", "")))
        raise web.HTTPSeeOther("/callbacks")

    async def availability(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        form = await request.post()
        await self.store.call(set_availability, who, form.get("available") == "1")
        raise web.HTTPSeeOther("/inbox")
