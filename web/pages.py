"""The counsellor UI (server-rendered; small scripts make it live)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.access import Principal, can_see
from inbox.chat import MAX_NOTE, transfer
from inbox.contacts import close, take
from inbox.errors import Problem, require_storable
from inbox.models import Area
from inbox.outbound import Outbound
from inbox.phone import log_call_on_contact
from inbox.staff import set_availability, staff_directory
from inbox.store import Store
from inbox.views import attachment_data, contact_detail, message_html
from web.api import path_id
from web.auth import CSRF, require_staff
from web.i18n import Catalogs
from web.routing_text import RoutingText
from web.ui_language import ui_context, ui_language

FRAME_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
CATALOGS = web.AppKey("catalogs", Catalogs)  # set by web/app.py: the counsellor UI's words


def render_page(request: web.Request, template: str, who: Principal | None,
                **context: object) -> web.Response:
    return aiohttp_jinja2.render_template(
        template, request, {"who": who, "csrf_token": request.get(CSRF),
                            **counsellor_words(request), **context})




def counsellor_words(request: web.Request) -> dict[str, Any]:
    """`_`, `gettext`, `ngettext` for the counsellor UI's text (English msgids) in the UI
    language (web/ui_language.py); `ui_lang` says which, `lang_query` keeps an asked-for
    `?lang=` in a form's action, `here` is the page (the language picker comes back to it)."""
    kept = ui_context(request)
    lang = kept["ui_lang"]
    catalogs = request.config_dict.get(CATALOGS)
    if catalogs is None:
        return kept
    words = catalogs.for_language(lang)
    return {"_": words["_"], "gettext": words["gettext"], "ngettext": words["ngettext"],
            **kept}


def _storable(text: str) -> bool:
    try:
        require_storable(text)
    except Problem:
        return False
    return True


def _area_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Area.code)))


def _transfer(session: Session, who: Principal, contact_id: int, to_staff_id: int | None,
              to_area: str | None, note: str) -> bool:
    """Transfers; True when the counsellor can still see the contact afterwards."""
    return can_see(who, transfer(session, who, contact_id, to_staff_id, to_area, note))


@dataclass
class TransferForm:
    """What the counsellor typed into the transfer form, and what was wrong with it."""

    to_staff: str = ""
    to_area: str = ""
    note: str = ""
    error: str | None = None
    invalid: str | None = None  # the field the error is about, for aria-invalid and focus

    def refuse(self, error: str, invalid: str | None) -> None:
        self.error, self.invalid = error, invalid


@dataclass
class Pages:
    store: Store
    outbound: Outbound
    text: RoutingText

    def _rendered(self, lang: str, contact: dict[str, Any]) -> dict[str, Any]:
        """The contact with its routing in words."""
        return self.text.contact(lang, contact)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/contacts/{id}", self.contact),
            web.post("/contacts/{id}/reply", self.reply),
            web.post("/contacts/{id}/take", self.take),
            web.post("/contacts/{id}/messages/{mid}/retry", self.retry),
            web.post("/contacts/{id}/close", self.close),
            web.post("/contacts/{id}/call", self.log_call),
            web.post("/contacts/{id}/transfer", self.transfer),
            web.get("/contacts/{id}/attachments/{aid}", self.attachment),
            web.get("/contacts/{id}/messages/{mid}/html", self.html_frame),
            web.post("/me/availability", self.availability),
        ]

    async def contact(self, request: web.Request) -> web.Response:
        return await self._contact_page(request, TransferForm())

    async def _contact_page(self, request: web.Request, form: TransferForm,
                            status: int = 200) -> web.Response:
        who = require_staff(request)
        contact = await self.store.call(contact_detail, who, path_id(request), "page.contact")
        lang = ui_language(request)
        staff = [s for s in await self.store.call(staff_directory)
                 if s["id"] != who.staff_id]
        response = render_page(request, "contact.html", who,
                               contact=self._rendered(lang, contact), lang=lang, staff=staff,
                               transfer=form, max_note=MAX_NOTE,
                               transferred=request.query.get("transferred") == "1",
                               phone_notice=request.query.get("phone_notice", ""))
        response.set_status(status)
        return response

    async def reply(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        contact_id = path_id(request)
        form = await request.post()
        await self.outbound.reply(who, contact_id, str(form.get("text", "")))
        raise web.HTTPSeeOther(f"/contacts/{contact_id}")

    async def retry(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        await self.outbound.retry(who, path_id(request), path_id(request, "mid"))
        raise web.HTTPSeeOther(f"/contacts/{path_id(request)}")

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

    async def transfer(self, request: web.Request) -> web.Response:
        """The transfer form: on bad input the page again, with the reason in Finnish."""
        who = require_staff(request)
        contact_id = path_id(request)
        posted = await request.post()
        form = TransferForm(to_staff=str(posted.get("to_staff_id", "")).strip(),
                            to_area=str(posted.get("to_area", "")).strip(),
                            note=str(posted.get("note", "")).strip())
        staff = {str(s["id"]): s for s in await self.store.call(staff_directory)}
        chosen = staff.get(form.to_staff)
        if form.to_staff and chosen is None:
            form.refuse("Valitse neuvoja listasta.", "to_staff")
        elif form.to_area and form.to_area not in await self.store.call(_area_codes):
            form.refuse("Valitse alue listasta.", "to_area")
        elif not form.to_staff and not form.to_area:
            form.refuse("Valitse neuvoja tai alue, jolle siirrät.", "to_staff")
        elif not form.note:
            form.refuse("Kirjoita viesti: miksi siirrät ja mitä on jo tehty.", "note")
        elif len(form.note) > MAX_NOTE:
            form.refuse(f"Viesti on liian pitkä (enintään {MAX_NOTE} merkkiä).", "note")
        elif not _storable(form.note):
            form.refuse("Viestissä on merkkejä, joita ei voi tallentaa (NUL-merkki tai "
                        "rikkinäinen merkki). Kirjoita viesti uudelleen.", "note")
        if form.error:
            return await self._contact_page(request, form, 400)
        try:
            still_mine = await self.store.call(
                _transfer, who, contact_id, int(form.to_staff) if chosen else None,
                form.to_area or None, form.note)
        except Problem as problem:
            if problem.status == 404:
                raise
            form.refuse(_transfer_problem(problem, chosen),
                        "to_area" if problem.status == 409 else None)
            return await self._contact_page(request, form, problem.status)
        lang = ui_language(request)
        keep = {"lang": lang} if lang != "fi" else {}
        if still_mine:
            raise web.HTTPSeeOther(f"/contacts/{contact_id}?"
                                   + urlencode({**keep, "transferred": "1"}))
        raise web.HTTPSeeOther("/inbox?" + urlencode({**keep, "transferred": contact_id}))

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

    async def availability(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        form = await request.post()
        await self.store.call(set_availability, who, form.get("available") == "1")
        raise web.HTTPSeeOther("/inbox")


def _transfer_problem(problem: Problem, chosen: dict[str, Any] | None) -> str:
    """A refused transfer in words the counsellor can act on."""
    if problem.status == 409 and chosen is not None:
        return (f"{chosen['name']} ei työskentele tämän yhteydenoton alueella. "
                "Valitse myös alue, jolle siirrät.")
    if problem.status == 409:
        return "Siirto ei onnistunut: valitse neuvoja ja alue, jotka sopivat yhteen."
    return f"Siirto ei onnistunut: {problem.detail or problem.title}"
