"""The counsellor UI (server-rendered; small scripts make it live)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.access import Principal, can_see
from inbox.chat import MAX_NOTE, transfer
from inbox.contact_work import add_note, correct_contact
from inbox.contacts import close, take
from inbox.errors import Problem
from inbox.models import Area
from inbox.outbound import Outbound
from inbox.phone import log_call_on_contact
from inbox.staff import set_availability, staff_directory
from inbox.store import Store
from inbox.taxonomy import CaseVocabulary
from inbox.templates import fill, templates
from inbox.views import attachment_data, contact_detail, message_html, visible_contact
from web.api import path_id
from web.auth import CSRF, require_staff
from web.case_words import N_
from web.contact_forms import (
    DELIVERY_LOOK,
    ENDONYMS,
    MAX_NOTE_TEXT,
    MAX_REPLY,
    MAX_WHY,
    ROUTING_FIELDS,
    TOO_LONG,
    UNSTORABLE,
    ContactForm,
    check_text,
    code_words,
    last_reply,
    posted_form,
    read_correction,
    shown_status,
    storable,
    template_choices,
    timeline,
    why_here,
)
from web.i18n import LANGUAGES, Catalogs
from web.routing_text import RoutingText
from web.ui_language import ui_context

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


def _page_data(session: Session) -> tuple[list[dict[str, Any]], list[str],
                                          list[dict[str, Any]]]:
    """What the contact page offers: whom to hand it to, the areas, the reply templates."""
    return (staff_directory(session), list(session.scalars(select(Area.code))),
            templates(session))


def _routing_now(session: Session, who: Principal, contact_id: int
                 ) -> tuple[dict[str, Any], set[str]]:
    """What the router decided for the contact now (codes only), and the areas there are."""
    contact = visible_contact(session, who, contact_id)
    return ({"reason": contact.reason, "who_contacted": contact.who_contacted,
             "urgency": contact.urgency, "area": contact.area_code},
            set(session.scalars(select(Area.code))))


def _transfer(session: Session, who: Principal, contact_id: int, to_staff_id: int | None,
              to_area: str | None, note: str) -> bool:
    """Transfers; True when the counsellor can still see the contact afterwards."""
    return can_see(who, transfer(session, who, contact_id, to_staff_id, to_area, note))


def _kept_language(request: web.Request) -> dict[str, str]:
    """A `?lang=` that was asked for, for the address a form sends the counsellor back to."""
    lang = request.query.get("lang", "")
    return {"lang": lang} if lang in LANGUAGES else {}


def _no_hours(lang: str, area: str | None) -> str:
    return ""


@dataclass
class Pages:
    """The contact page /contacts/{id} and its forms. Each form is a plain POST answered by a
    redirect back to the page; on bad input the page again (400, or what the service said)
    with what was typed kept and the reason at its field. contact.js only makes inserting a
    reply template quicker."""

    store: Store
    outbound: Outbound
    text: RoutingText
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    hours_text: Callable[[str, str | None], str] = _no_hours  # a template's {opening_hours}
    vocab: CaseVocabulary = field(default_factory=CaseVocabulary)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/contacts/{id}", self.contact),
            web.post("/contacts/{id}/reply", self.reply),
            web.post("/contacts/{id}/take", self.take),
            web.post("/contacts/{id}/messages/{mid}/retry", self.retry),
            web.post("/contacts/{id}/close", self.close),
            web.post("/contacts/{id}/call", self.log_call),
            web.post("/contacts/{id}/transfer", self.transfer),
            web.post("/contacts/{id}/routing", self.correct),
            web.post("/contacts/{id}/notes", self.note),
            web.get("/contacts/{id}/attachments/{aid}", self.attachment),
            web.get("/contacts/{id}/messages/{mid}/html", self.html_frame),
            web.post("/me/availability", self.availability),
        ]

    def _back(self, request: web.Request, done: str = "", anchor: str = "") -> str:
        query = urlencode({**_kept_language(request), **({"done": done} if done else {})})
        return f"/contacts/{path_id(request)}" + (f"?{query}" if query else "") + anchor

    async def contact(self, request: web.Request) -> web.Response:
        """The page; `?template=ID` starts the reply box from that template, filled."""
        reply_text, notice = "", ""
        chosen = request.query.get("template", "")
        if chosen:
            reply_text, notice = await self._filled(request, chosen)
        return await self._contact_page(request, ContactForm(), reply_text=reply_text,
                                        notice=notice)

    async def _filled(self, request: web.Request, chosen: str) -> tuple[str, str]:
        """A template's text for this contact, and the notice saying so (or why not)."""
        if not (chosen.isascii() and chosen.isdigit() and len(chosen) <= 10):
            return "", "template_gone"
        who = require_staff(request)
        try:
            filled = await self.store.call(fill, who, int(chosen), path_id(request),
                                           self.hours_text)
        except Problem as problem:
            if problem.status != 404 or not (problem.detail or "").startswith("template"):
                raise
            return "", "template_gone"
        return str(filled["text"]), "template"

    async def _contact_page(self, request: web.Request, form: ContactForm, status: int = 200,
                            reply_text: str = "", notice: str = "") -> web.Response:
        who = require_staff(request)
        contact = await self.store.call(contact_detail, who, path_id(request), "page.contact")
        staff, areas, items = await self.store.call(_page_data)
        ui = counsellor_words(request)
        lang, gettext = ui["ui_lang"], ui.get("_", lambda m, **k: m)
        contact = self.text.contact(lang, contact)
        words = code_words(gettext, lambda a: self.text.area(lang, a),
                           lambda r: self.text.reason(lang, r), self.vocab,
                           sorted(areas, key=lambda a: self.text.area(lang, a)))
        routing = contact.get("routing") or {}
        done = request.query.get("done", "")
        response = render_page(
            request, "contact.html", who, contact=contact, lang=lang, words=words,
            staff=[{**s, "where": ", ".join(words["area"].get(a, a) for a in s["areas"])
                    or words["role"].get(s["role"], s["role"])}
                   for s in staff if s["id"] != who.staff_id],
            form=form, max_note=MAX_NOTE, max_why=MAX_WHY, max_note_text=MAX_NOTE_TEXT,
            max_reply=MAX_REPLY, timeline=timeline(contact["messages"], contact["notes"]),
            steps=why_here(routing.get("steps", []), words, contact["received_at"]),
            status=shown_status(contact), last_reply=last_reply(contact["messages"]),
            picker=template_choices(items, contact.get("language")), endonyms=ENDONYMS,
            delivery_look=DELIVERY_LOOK,
            reply_text=reply_text, notice=notice or (
                done if done in ("routing", "note", "reply") else ""),
            transferred=request.query.get("transferred") == "1",
            phone_notice=request.query.get("phone_notice", ""))
        response.set_status(status)
        return response

    async def reply(self, request: web.Request) -> web.Response:
        """Sends the reply; or, with `insert` (no script), puts the chosen template after
        what was typed and shows the page again, nothing sent."""
        who = require_staff(request)
        contact_id = path_id(request)
        posted = await request.post()
        form = posted_form("reply", posted, ("template",))
        text = str(posted.get("text", ""))
        if posted.get("insert"):
            return await self._insert(request, form, text)
        if not text.strip():
            form.refuse("text", N_("Write the reply."))
        elif len(text.strip()) > MAX_REPLY:
            form.refuse("text", TOO_LONG, max=MAX_REPLY)
        elif not storable(text):
            form.refuse("text", UNSTORABLE)
        if form.errors:
            return await self._contact_page(request, form, 400, reply_text=text)
        try:
            await self.outbound.reply(who, contact_id, text)
        except Problem as problem:
            if problem.status == 404:
                raise
            form.refuse("text", N_("The reply was not sent: %(detail)s"),
                        detail=problem.detail or problem.title)
            return await self._contact_page(request, form, problem.status, reply_text=text)
        raise web.HTTPSeeOther(self._back(request))

    async def _insert(self, request: web.Request, form: ContactForm, text: str
                      ) -> web.Response:
        chosen = form.values["template"]
        filled, notice = await self._filled(request, chosen) if chosen else ("", "")
        if notice != "template":
            form.refuse("template", N_("Choose a template from the list."))
            return await self._contact_page(request, form, 400, reply_text=text)
        joined = f"{text.rstrip()}\n\n{filled}" if text.strip() else filled
        return await self._contact_page(request, form, reply_text=joined, notice="template")

    async def correct(self, request: web.Request) -> web.Response:
        """Correct the routing: reason, who contacted, urgency (routing steps) and the area
        (a transfer), with why."""
        who = require_staff(request)
        contact_id = path_id(request)
        form = posted_form("routing", await request.post(), ROUTING_FIELDS)
        current, areas = await self.store.call(_routing_now, who, contact_id)
        correction = read_correction(form, current, self.vocab, areas)
        if correction is None:
            return await self._contact_page(request, form, 400)
        try:
            still_mine = await self.store.call(
                correct_contact, who, contact_id, correction.changes, correction.to_area,
                correction.why, self.vocab.reasons, self.vocab.who_contacted, self.clock())
        except Problem as problem:
            if problem.status in (403, 404):
                raise
            form.refuse(problem.field if problem.field in form.values else "_form",
                        N_("Not saved: %(detail)s"), detail=problem.detail or problem.title)
            return await self._contact_page(request, form, problem.status)
        if still_mine:
            raise web.HTTPSeeOther(self._back(request, "routing", "#routing-title"))
        raise web.HTTPSeeOther("/inbox?" + urlencode({**_kept_language(request),
                                                      "transferred": contact_id}))

    async def note(self, request: web.Request) -> web.Response:
        """An internal note: kept on the contact for staff, never sent to the resident."""
        who = require_staff(request)
        form = posted_form("note", await request.post(), ("text",))
        check_text(form, "text", N_("Write the note."), MAX_NOTE_TEXT)
        if form.errors:
            return await self._contact_page(request, form, 400)
        note = await self.store.call(add_note, who, path_id(request), form.values["text"],
                                     self.clock())
        raise web.HTTPSeeOther(self._back(request, "note", f"#note-{note.id}"))

    async def retry(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        await self.outbound.retry(who, path_id(request), path_id(request, "mid"))
        raise web.HTTPSeeOther(self._back(request))

    async def take(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        await self.store.call(take, who, path_id(request))
        raise web.HTTPSeeOther(self._back(request))

    async def close(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        await self.store.call(close, who, path_id(request))
        query = urlencode(_kept_language(request))
        raise web.HTTPSeeOther("/inbox" + (f"?{query}" if query else ""))

    async def log_call(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        form = await request.post()
        minutes = str(form.get("minutes", "")).strip()
        await self.store.call(log_call_on_contact, who, path_id(request),
                              direction=str(form.get("direction", "out")),
                              notes=str(form.get("notes", "")).strip(),
                              duration_s=int(minutes) * 60
                              if minutes.isascii() and minutes.isdigit() else None)
        raise web.HTTPSeeOther(self._back(request))

    async def transfer(self, request: web.Request) -> web.Response:
        """The transfer form: on bad input the page again, with the reason in words."""
        who = require_staff(request)
        contact_id = path_id(request)
        form = posted_form("transfer", await request.post(), ("to_staff_id", "to_area", "note"))
        v = form.values
        staff, areas, _ = await self.store.call(_page_data)
        chosen = {str(s["id"]): s for s in staff}.get(v["to_staff_id"])
        if v["to_staff_id"] and chosen is None:
            form.refuse("to_staff_id", N_("Choose a counsellor from the list."))
        elif v["to_area"] and v["to_area"] not in areas:
            form.refuse("to_area", N_("Choose the area from the list."))
        elif not v["to_staff_id"] and not v["to_area"]:
            form.refuse("to_staff_id", N_("Choose the counsellor or the area you hand it to."))
        else:
            check_text(form, "note", N_("Write a message: why you hand it over and what has "
                                        "been done."), MAX_NOTE)
        if form.errors:
            return await self._contact_page(request, form, 400)
        try:
            still_mine = await self.store.call(
                _transfer, who, contact_id, int(v["to_staff_id"]) if chosen else None,
                v["to_area"] or None, v["note"])
        except Problem as problem:
            if problem.status == 404:
                raise
            _transfer_problem(form, problem, chosen)
            return await self._contact_page(request, form, problem.status)
        keep = _kept_language(request)
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


def _transfer_problem(form: ContactForm, problem: Problem, chosen: dict[str, Any] | None
                      ) -> None:
    """A refused transfer in words the counsellor can act on."""
    if problem.status == 409 and chosen is not None:
        form.refuse("to_area", N_("%(name)s does not work in this contact's area. Choose "
                                  "the area you hand it to as well."), name=chosen["name"])
    elif problem.status == 409:
        form.refuse("to_area", N_("The transfer did not go through: choose a counsellor and "
                                  "an area that fit together."))
    else:
        form.refuse("_form", N_("The transfer did not go through: %(detail)s"),
                    detail=problem.detail or problem.title)
