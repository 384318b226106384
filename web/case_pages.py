"""The case page /cases/{id}: a resident's case carried through the housing-counselling
process (need → clarifying → guidance and network work → payment plan and monitoring →
follow-up and interim evaluation → outcome), and its forms.

Every form is a plain HTML POST with the session's CSRF token, answered with a redirect
(303) back to the page that says what was recorded; on bad input the page again (400, or
409 when someone saved or closed the case meanwhile) with what was typed kept, the reason
at its field (aria-invalid, aria-describedby) and focus on the first such field. The
rules are inbox.case_work's; this checks only what a form can get wrong before them. New
words come from the catalogs' cases.po (English msgids), Finnish unless `?lang=sv|en`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from inbox.access import Principal
from inbox.case_work import (
    MAX_TEXT,
    add_event,
    add_intervention,
    add_step,
    close_case,
    complete_follow_up,
    hand_over,
    plan_follow_up,
    update_case,
)
from inbox.cases import case_detail
from inbox.errors import Problem, require_storable
from inbox.hours import HELSINKI
from inbox.staff import staff_directory
from inbox.store import Store
from inbox.taxonomy import CaseVocabulary
from web import case_view
from web.api import path_id
from web.auth import require_staff
from web.case_words import N_
from web.letters import Letters, combine, parse_day, pdf_response
from web.pages import counsellor_words, render_page
from web.routing_text import RoutingText

# The forms of the page and the fields each sends (besides csrf_token).
FORMS: dict[str, tuple[str, ...]] = {
    "step": ("code", "at"), "intervention": ("code", "note"), "partner": ("code", "text"),
    "goal": ("text",), "meeting": ("code", "at", "text"), "note": ("text",),
    "follow_up": ("due", "kind", "note"),
    "edit": ("version", "housing_type", "eviction_date", "hearing_date", "discharge_date"),
    "appointment": ("day", "time", "place"), "contact_request": ("by",),
    "handover": ("to_staff_id", "note"), "close": ("outcome", "note"),
}
PATHS = {"step": "steps", "intervention": "interventions", "partner": "partners",
         "goal": "goals", "meeting": "meetings", "note": "notes", "follow_up": "follow-ups",
         "appointment": "letters/appointment", "contact_request": "letters/contact-request"}
# A refusal of inbox.case_work or web.letters (its code) in the counsellor's words, at the
# field of the form that sent it.
REFUSALS = {
    "step.unknown": N_("Choose a step from the list."),
    "intervention.unknown": N_("Choose an intervention from the list."),
    "partner.unknown": N_("Choose a partner from the list."),
    "meeting.unknown": N_("Choose how you met."),
    "outcome.unknown": N_("Choose an outcome from the list."),
    "at.future": N_("The date cannot be in the future."),
    "due.past": N_("Choose today or a later day."),
    "due.too_far": N_("Choose a day within 24 months of the case's opening."),
    "at.required": N_("Enter the date and the time."),
    "at.invalid": N_("Enter the date and the time, for example 9.12.2026 and 13.30."),
    "at.past": N_("The appointment must be in the future."),
    "at.too_far": N_("Choose a day within two years."),
    "place.required": N_("Enter the place: the address or the service point."),
    "place.too_long": N_("The place is too long (at most 200 characters)."),
}
EARLIEST = date(2000, 1, 1)
CHECK = N_("Check this field.")
DATE_FORMAT = N_("Enter the date, for example 2.12.2026.")
TOO_LONG = N_("The text is too long (at most %(max)s characters).")
UNSTORABLE = N_("The text has characters that cannot be saved (a NUL or a broken "
                "character). Write it again.")
ROLES = {"counsellor": N_("counsellor"), "lead": N_("lead"), "admin": N_("administrator")}
DONE = ("step", "intervention", "partner", "goal", "meeting", "note", "follow_up",
        "follow_up_done", "edit", "handover", "close")


class Refused(Exception):
    """What was wrong with a form, field by field (message ids)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass
class CaseForm:
    """One form of the page as the counsellor sent it, and what was wrong with it."""

    name: str = ""
    values: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)  # the edit form's checked reasons
    errors: dict[str, str] = field(default_factory=dict)  # field -> message id
    conflict: bool = False  # someone else saved the case since the form was loaded
    closed: bool = False  # the case was closed meanwhile

    def value(self, name: str, form: str) -> str:
        return self.values.get(name, "") if self.name == form else ""


def _day(value: str, name: str, required: bool = True) -> date | None:
    if not value:
        if required:
            raise Refused({name: DATE_FORMAT})
        return None
    try:
        day = parse_day(value)
    except ValueError as exc:
        raise Refused({name: DATE_FORMAT}) from exc
    if day < EARLIEST:  # a typo, and year 1 would not even fit in UTC
        raise Refused({name: DATE_FORMAT})
    return day


def _text(value: str, name: str, required: bool = False) -> str:
    if required and not value:
        raise Refused({name: N_("Write the text.")})
    if len(value) > MAX_TEXT:
        raise Refused({name: TOO_LONG})
    return value


def _code(value: str, allowed: tuple[str, ...], name: str, message: str) -> str:
    if value not in allowed:
        raise Refused({name: message})
    return value


@dataclass
class CasePages:
    store: Store
    clock: Callable[[], datetime]
    step_labels: dict[int, str]
    text: RoutingText
    letters: Letters
    vocab: CaseVocabulary = field(default_factory=CaseVocabulary)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/cases/{id}", self.show),
            *(web.post(f"/cases/{{id}}/{PATHS.get(name, name)}", self._poster(name))
              for name in FORMS),
            web.post("/follow-ups/{id}/done", self.follow_up_done),
        ]

    def _today(self) -> date:
        return self.clock().astimezone(HELSINKI).date()

    def _at(self, day: date | None) -> datetime:
        """A day the counsellor chose: now when it is today, else that day (00.00)."""
        today = self._today()
        if day is None or day == today:
            return self.clock()
        if day > today:
            raise Refused({"at": REFUSALS["at.future"]})
        return datetime.combine(day, datetime.min.time(), HELSINKI)

    # --- the page ------------------------------------------------------------------------
    async def show(self, request: web.Request) -> web.Response:
        return await self._page(request, CaseForm())

    async def _page(self, request: web.Request, form: CaseForm, status: int = 200
                    ) -> web.Response:
        who = require_staff(request)
        case = await self.store.call(case_detail, who, path_id(request), self.step_labels,
                                     "page.case")
        staff = await self.store.call(staff_directory)
        words = counsellor_words(request)
        lang, gettext = words["ui_lang"], words.get("_", lambda m, **k: m)
        vocab = case_view.vocabulary(lang, gettext, self.step_labels, self.text.reason,
                                     self.vocab)
        today = self._today()
        holder = case["counsellor"]["id"] if case["counsellor"] else None
        done = request.query.get("done", "")
        response = render_page(
            request, "case.html", who, case=case, form=form, words=vocab,
            area=self.text.area(lang, case["area"]),
            timeline=case_view.timeline(case, vocab, {int(str(s["id"])): str(s["name"])
                                                      for s in staff}),
            key_dates=case_view.key_dates(case, today, self.vocab),
            follow_ups=case_view.follow_ups(case, today),
            opened=case_view.moment_text(case["opened_at"]),
            closed=case_view.moment_text(case["closed_at"]) if case["closed_at"] else "",
            today=today.isoformat(), max_text=MAX_TEXT,
            staff={s["id"]: f"{s['name']} ({self._areas(lang, s, gettext)})" for s in staff
                   if s["id"] != holder},
            done=done if done in DONE else "")
        response.set_status(status)
        return response

    def _areas(self, lang: str, person: dict[str, Any], gettext: Callable[..., str]) -> str:
        areas = [str(a) for a in person["areas"] or ()]
        if areas:
            return ", ".join(self.text.area(lang, a) for a in areas)
        return gettext(ROLES.get(str(person["role"]), str(person["role"])))

    def _back(self, request: web.Request, case_id: int, done: str, anchor: str) -> str:
        lang = counsellor_words(request)["ui_lang"]
        query = {**({"lang": lang} if lang != "fi" else {}), "done": done}
        return f"/cases/{case_id}?{urlencode(query)}#{anchor}"

    # --- the forms -----------------------------------------------------------------------
    def _poster(self, name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def post(request: web.Request) -> web.StreamResponse:
            return await self._submit(request, name)
        return post

    async def _submit(self, request: web.Request, name: str) -> web.StreamResponse:
        who = require_staff(request)
        case_id = path_id(request)
        posted = await request.post()
        form = CaseForm(name, {f: str(posted.get(f, "")).strip() for f in FORMS[name]},
                        [str(r) for r in posted.getall("reasons", [])])
        status = 400
        try:
            bad = [k for k, v in form.values.items() if not _storable(v)]
            if bad or not all(_storable(r) for r in form.reasons):
                raise Refused({(bad or ["reasons"])[0]: UNSTORABLE})
            if name in ("appointment", "contact_request"):
                return await self._letter(who, case_id, form)
            await self._work(who, case_id, form)
        except Refused as refused:
            form.errors = refused.errors
        except Problem as problem:
            status = problem.status
            if status == 404:
                raise
            self._refusal(form, problem)
        else:
            raise web.HTTPSeeOther(self._back(request, case_id, name,
                                              "timeline" if name != "follow_up"
                                              else "follow-ups"))
        return await self._page(request, form, status)

    def _refusal(self, form: CaseForm, problem: Problem) -> None:
        if problem.status == 409 and problem.title == "Edited meanwhile":
            form.conflict = True
        elif problem.status == 409 and problem.title == "Case closed":
            form.closed = True
        elif problem.status == 409 and form.name == "handover":
            form.errors = {"to_staff_id": N_("The case is already theirs.")}
        else:
            target = problem.field or ""
            if target == "at" and form.name in ("appointment", "contact_request"):
                target = "by" if form.name == "contact_request" else "day"
            elif target == "text" and "note" in form.values:  # case_work's name for both
                target = "note"
            form.errors = {target if target in form.values else "_form":
                           REFUSALS.get(problem.code or "", CHECK)}

    async def _work(self, who: Principal, case_id: int, form: CaseForm) -> None:
        v, vocab, call = form.values, self.vocab, self.store.call
        name = form.name
        if name == "step":
            code = v["code"]
            if not (code.isascii() and code.isdigit() and int(code) in vocab.steps):
                raise Refused({"code": REFUSALS["step.unknown"]})
            at = self._at(_day(v["at"], "at", required=False))
            await call(add_step, who, case_id, int(code), at, vocab)
        elif name == "intervention":
            code = _code(v["code"], vocab.interventions, "code",
                         REFUSALS["intervention.unknown"])
            await call(add_intervention, who, case_id, code, _text(v["note"], "note"),
                       self.clock(), vocab)
        elif name in ("partner", "meeting", "goal", "note"):
            allowed = {"partner": vocab.partners, "meeting": vocab.meetings}
            event_code = _code(v["code"], allowed[name], "code",
                               REFUSALS[f"{name}.unknown"]) if name in allowed else None
            text = _text(v["text"], "text", required=name in ("goal", "note"))
            at = self._at(_day(v["at"], "at", required=False)) if name == "meeting" \
                else self.clock()
            await call(add_event, who, case_id, name, event_code, text, at, vocab)
        elif name == "follow_up":
            due = _day(v["due"], "due")
            kind = _code(v["kind"], vocab.follow_up_kinds, "kind", N_("Choose the kind."))
            await call(plan_follow_up, who, case_id, due, kind, _text(v["note"], "note"),
                       self._today(), vocab)
        elif name == "edit":
            await self._edit(who, case_id, form)
        elif name == "close":
            outcome = _code(v["outcome"], vocab.outcomes, "outcome",
                            REFUSALS["outcome.unknown"])
            await call(close_case, who, case_id, outcome, _text(v["note"], "note"),
                       self.clock(), vocab)
        elif name == "handover":
            chosen = v["to_staff_id"]
            staff = {str(s["id"]) for s in await call(staff_directory)}
            if chosen not in staff:
                raise Refused({"to_staff_id": N_("Choose a counsellor from the list.")})
            note = _text(v["note"], "note", required=True)
            await call(hand_over, who, case_id, int(chosen), note, self.clock())

    async def _edit(self, who: Principal, case_id: int, form: CaseForm) -> None:
        v, errors = form.values, {}
        if not (v["version"].isascii() and v["version"].isdigit()):
            raise Refused({"_form": N_("Reload the page and try again.")})
        reasons = [int(r) for r in form.reasons if r.isascii() and r.isdigit()]
        if len(reasons) != len(form.reasons) or any(r not in self.vocab.reasons
                                                    for r in reasons):
            errors["reasons"] = N_("Choose reasons from the list.")
        if v["housing_type"] not in ("", *self.vocab.housing_types):
            errors["housing_type"] = N_("Choose the housing from the list.")
        changes: dict[str, Any] = {"reasons": reasons,
                                   "housing_type": v["housing_type"] or None}
        for name in ("eviction_date", "hearing_date", "discharge_date"):
            try:
                day = _day(v[name], name, required=False)
                changes[name] = day.isoformat() if day else None
            except Refused as refused:
                errors.update(refused.errors)
        if errors:
            raise Refused(errors)
        await self.store.call(update_case, who, case_id, int(v["version"]), changes,
                              self._today(), self.vocab)

    async def _letter(self, who: Principal, case_id: int, form: CaseForm
                      ) -> web.StreamResponse:
        v = form.values
        at = combine(v["day"], v["time"]) if form.name == "appointment" else (
            combine(v["by"], "") if v["by"] else None)
        if form.name == "contact_request" and v["by"]:
            _day(v["by"], "by")
        name, pdf = await self.letters.make(who, case_id, form.name, at,
                                            v.get("place", ""))
        return pdf_response(name, pdf)

    async def follow_up_done(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        done = await self.store.call(complete_follow_up, who, path_id(request), self.clock())
        raise web.HTTPSeeOther(self._back(request, done.case_id, "follow_up_done",
                                          "follow-ups"))


def _storable(value: str) -> bool:
    try:
        require_storable(value)
    except Problem:
        return False
    return True
