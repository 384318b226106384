"""Letters to a resident as PDF: the appointment letter (ajanvarauskirje: date, time, place,
the counsellor's name and phone) and the contact-request letter (yhteydenottopyyntökirje:
please contact us, and how). Jinja templates in web/templates/letters/, in the resident's
language (fi, sv, en; the catalogs' letters.po), rendered by WeasyPrint, which fetches
nothing: every style is in the template. Each letter made is a case event "letter".

`POST /api/v1/cases/{id}/letters {kind: appointment|contact_request, at?, place?}` answers
with the PDF as an attachment; the case page's letter forms use the same `Letters.make`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web
from babel.dates import format_date

from inbox.access import Principal
from inbox.errors import bad_request, json_object
from inbox.hours import HELSINKI
from inbox.letters import LETTER_KINDS, letter_facts, record_letter
from inbox.store import Store
from web.api import path_id
from web.auth import require_staff
from web.i18n import Catalogs, language
from web.phone_pages import pretty_phone

TEMPLATES = Path(__file__).parent / "templates" / "letters"
MAX_PLACE = 200
HORIZON = timedelta(days=731)  # a letter's day is at most two years ahead
FILENAMES = {"appointment": "ajanvarauskirje", "contact_request": "yhteydenottopyynto"}
LOCALES = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_GB"}


@dataclass(frozen=True)
class LetterRequest:
    """What the letter says beyond who it is to: for an appointment when (required, in the
    future) and where; for a contact request the day to contact us by, if any."""

    kind: str
    at: datetime | None = None
    by: date | None = None
    place: str = ""


def letter_request(kind: object, at: object, place: object, now: datetime) -> LetterRequest:
    """The request checked: a 400 with the field and a code for each kind of bad input."""
    if kind not in LETTER_KINDS:
        raise bad_request(f"kind must be one of {', '.join(LETTER_KINDS)}", field="kind",
                          code="letter.unknown")
    if place is not None and not isinstance(place, str):
        raise bad_request("place must be text", field="place", code="place.invalid")
    where = (place or "").strip()
    if len(where) > MAX_PLACE:
        raise bad_request(f"place must be at most {MAX_PLACE} characters", field="place",
                          code="place.too_long")
    if at is not None and not isinstance(at, str):
        raise bad_request("at must be an ISO 8601 date-time", field="at", code="at.invalid")
    if kind == "contact_request":
        if not at:
            return LetterRequest("contact_request", place=where)
        try:
            by = date.fromisoformat(at[:10])
        except ValueError as exc:
            raise bad_request("at (contact us by) must be a date", field="at",
                              code="at.invalid") from exc
        if by < now.astimezone(HELSINKI).date():
            raise bad_request("at (contact us by) must be today or later", field="at",
                              code="at.past")
        if by > now.astimezone(HELSINKI).date() + HORIZON:
            raise bad_request("at (contact us by) must be within two years", field="at",
                              code="at.too_far")
        return LetterRequest("contact_request", by=by, place=where)
    if not at:
        raise bad_request("at (the appointment's date and time) is required", field="at",
                          code="at.required")
    try:
        when = datetime.fromisoformat(at)
    except ValueError as exc:
        raise bad_request("at must be an ISO 8601 date-time, e.g. 2026-12-09T13:30",
                          field="at", code="at.invalid") from exc
    if "T" not in at and " " not in at:
        raise bad_request("at must name the time too, e.g. 2026-12-09T13:30", field="at",
                          code="at.invalid")
    when = when if when.tzinfo else when.replace(tzinfo=HELSINKI)
    today = now.astimezone(HELSINKI).date()
    if when.date() > today + HORIZON:  # by the day first: year 9999 at -12:00 overflows
        raise bad_request("the appointment must be within two years", field="at",
                          code="at.too_far")
    if when.date() < today - timedelta(days=1) or when <= now:
        raise bad_request("the appointment must be in the future", field="at", code="at.past")
    if not where:
        raise bad_request("place (where the appointment is) is required", field="place",
                          code="place.required")
    return LetterRequest("appointment", at=when, place=where)


def summary(request: LetterRequest, lang: str) -> str:
    """What the case's timeline says of the letter (numbers, the place, the language)."""
    parts: list[str] = []
    if request.at is not None:
        local = request.at.astimezone(HELSINKI)
        parts.append(f"{local.day}.{local.month}.{local.year} {local.hour}.{local.minute:02d}")
    if request.by is not None:
        parts.append(f"→ {request.by.day}.{request.by.month}.{request.by.year}")
    if request.place:
        parts.append(request.place)
    parts.append(lang.upper())
    return " · ".join(parts)


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"letters fetch nothing ({url})")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda m: m, lambda s, p, n: s if n == 1 else p, newstyle=True)  # render passes its own
    return env


@dataclass
class Letters:
    store: Store
    catalogs: Catalogs
    clock: Callable[[], datetime]
    env: jinja2.Environment = field(default_factory=_environment)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/v1/cases/{id}/letters", self.api)]

    def html(self, request: LetterRequest, facts: dict[str, Any], lang: str,
             now: datetime) -> str:
        words = self.catalogs.for_language(lang)
        locale = LOCALES[lang]
        local = request.at.astimezone(HELSINKI) if request.at else None
        clock = (f"{local.hour}.{local.minute:02d}" if lang != "en"
                 else f"{local.hour}:{local.minute:02d}") if local else ""
        context = {
            **words, "lang": lang, "facts": facts, "place": request.place,
            "today": format_date(now.astimezone(HELSINKI).date(), "long", locale=locale),
            "day": format_date(local.date(), "EEEE d MMMM y" if lang == "en"
                               else "EEEE d.M.y", locale=locale) if local else "",
            "clock": clock,
            "phone": pretty_phone(facts["counsellor"]["phone"])
            if facts["counsellor"]["phone"] else "",
            "by": format_date(request.by, "long", locale=locale) if request.by else "",
        }
        return self.env.get_template(f"{request.kind}.html").render(context)

    def render(self, request: LetterRequest, facts: dict[str, Any], lang: str,
               now: datetime) -> bytes:
        """The PDF (WeasyPrint needs Debian's pango: libpango-1.0-0, libpangoft2-1.0-0)."""
        from weasyprint import HTML  # slow to import, and only letters need it

        html = self.html(request, facts, lang, now)
        pdf: bytes = HTML(string=html, url_fetcher=_refuse_fetch).write_pdf()
        return pdf

    async def make(self, who: Principal, case_id: int, kind: object, at: object,
                   place: object) -> tuple[str, bytes]:
        """Check, render, record; the file's name and its bytes. Nothing is recorded when
        the letter could not be made, and no letter is given for a case closed meanwhile."""
        now = self.clock()
        request = letter_request(kind, at, place, now)
        facts = await self.store.call(letter_facts, who, case_id)
        lang = language(facts["resident"]["language"])
        pdf = await asyncio.to_thread(self.render, request, facts, lang, now)
        await self.store.call(record_letter, who, case_id, request.kind,
                              summary(request, lang), now)
        return f"{FILENAMES[request.kind]}-{case_id}.pdf", pdf

    async def api(self, request: web.Request) -> web.Response:
        who, body = require_staff(request), await json_object(request.json)
        name, pdf = await self.make(who, path_id(request), body.get("kind"), body.get("at"),
                                    body.get("place"))
        return pdf_response(name, pdf)


def pdf_response(name: str, pdf: bytes) -> web.Response:
    response = web.Response(body=pdf, content_type="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response.headers["Cache-Control"] = "no-store"  # a resident's name is in it
    return response


def letters_openapi() -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {"/api/v1/cases/{id}/letters": {"post": {
        "summary": "An appointment or contact-request letter as PDF, recorded on the case",
        "security": [{"bearer": []}, {"session": []}],
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["kind"], "properties": {
                "kind": {"type": "string", "enum": list(LETTER_KINDS)},
                "at": {"type": "string", "description": "appointment: its date-time "
                       "(YYYY-MM-DDTHH:MM, Helsinki time unless an offset is given); "
                       "contact_request: the day to contact us by (optional)"},
                "place": {"type": "string", "maxLength": MAX_PLACE}}}}}},
        "responses": {
            "200": {"description": "The letter", "content": {"application/pdf": {
                "schema": {"type": "string", "format": "binary"}}}},
            **{str(c): {"description": "Problem", "content": problem}
               for c in (400, 401, 404, 409)}}}}}


def combine(day: str, clock: str) -> str | None:
    """The page's date and time fields as one ISO date-time (or what was typed, to refuse)."""
    if not day and not clock:
        return None
    try:
        parsed_day = parse_day(day)
        parsed_time = time.fromisoformat(clock.replace(".", ":")) if clock else None
    except ValueError:
        return f"{day} {clock}".strip() or None
    if parsed_time is None:
        return parsed_day.isoformat()
    return datetime.combine(parsed_day, parsed_time).isoformat(timespec="minutes")


def parse_day(value: str) -> date:
    """2026-12-09 (a date field) or 9.12.2026 (typed where there is no date picker)."""
    value = value.strip()
    if "." in value:
        parts = value.split(".")
        if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
            raise ValueError(f"not a date: {value!r}")
        d, m, y = (int(p) for p in parts)
        return date(y, m, d)
    return date.fromisoformat(value)
