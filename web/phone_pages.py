"""The counsellor's side of the phone: the callback queue (/callbacks), logging a call from
anywhere (/calls/new) and a public request's possible match (a form on the contact page).

The queue page shows what `GET /api/v1/callbacks` gives (inbox.callbacks.queue) in words:
the number in full only to the one who holds the request, the waiting time, attempts, "not
before" after a no-answer, and for leads the failed requests with their history; inbox.js
re-reads the page on `callback.*` events and swaps its parts. Every form here posts with
the session's CSRF token and is answered with a redirect (303) that says what happened, or
on bad input with the page again and the reason at its field. New words come from the
counsellor catalog (web/locale/*/LC_MESSAGES/counsellor.po, English msgids), Finnish unless
`?lang=sv|en`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import phonenumbers
from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.access import Principal
from inbox.callbacks import (
    QueueRules,
    cancel,
    claim,
    claim_next,
    queue,
    record_attempt,
)
from inbox.errors import MAX_ID, Problem
from inbox.hours import HELSINKI
from inbox.inbound import Inbound
from inbox.matches import resolve_possible_match
from inbox.models import CallbackRequest
from inbox.phone import log_routed_call, recent_calls
from inbox.store import Store
from router.identify import InvalidPhone, normalise_phone
from router.pipeline import Router
from web.api import path_id
from web.auth import require_staff
from web.pages import render_page
from web.ui_language import asked_language

MAX_NOTES = 20_000
MAX_MINUTES = 24 * 60
RECENT_CALLS = 20


def N_(message: str) -> str:
    """Marks a message id for extraction; translated where it is shown."""
    return message


# Why a number will not do (router.identify.InvalidPhone codes), in the counsellor's words.
PHONE_ERRORS = {
    "phone.required": N_("Enter the phone number."),
    "phone.invalid": N_("Check the phone number, for example 040 123 4567."),
    "phone.too_short": N_("The phone number is too short. Check it, for example 040 123 4567."),
    "phone.too_long": N_("The phone number is too long. Check it, for example 040 123 4567."),
    "phone.foreign_needs_plus": N_("Write a number abroad with + and the country code, "
                                   "for example +46 70 123 4567."),
}
NOTICES = ("claimed", "done", "refused", "cancelled")
REFUSALS = ("taken", "not_yours", "gone", "busy")


# --- numbers and times in words ---------------------------------------------------------
def pretty_phone(e164: str) -> str:
    """+358401234567 as a Finn reads it (040 1234567); other countries with their code."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    kind = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 358
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, kind)


def masked_phone(e164: str, hidden: int = 4) -> str:
    """The number without its last digits: only the one who calls sees it whole."""
    chars = list(pretty_phone(e164))
    for i in range(len(chars) - 1, -1, -1):
        if hidden == 0:
            break
        if chars[i].isdigit():
            chars[i], hidden = "•", hidden - 1
    return "".join(chars)


def _local(value: str | datetime) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(HELSINKI)


def clock_time(moment: datetime) -> str:
    return f"{moment.hour}.{moment.minute:02d}"


def day_of(moment: datetime, now: datetime) -> dict[str, str]:
    """`day` is today | tomorrow | date (then `date` is 2.12.): the template words it."""
    local, today = _local(moment), _local(now).date()
    day = ("today" if local.date() == today
           else "tomorrow" if local.date() == today + timedelta(days=1) else "date")
    return {"day": day, "date": f"{local.day}.{local.month}.", "time": clock_time(local)}


def window_of(preferred: dict[str, str] | None, now: datetime) -> dict[str, str] | None:
    if preferred is None:
        return None
    start, end = _local(preferred["from"]), _local(preferred["to"])
    return {**day_of(start, now), "start": clock_time(start), "end": clock_time(end)}


def duration_parts(seconds: int) -> dict[str, int]:
    """Whole days, hours and minutes, for "12 min", "2 h 5 min", "1 d 3 h"."""
    minutes = max(0, seconds) // 60
    return {"d": minutes // 1440, "h": minutes % 1440 // 60, "m": minutes % 60,
            "s": max(0, seconds)}


def queue_row(item: dict[str, Any], who: Principal, now: datetime) -> dict[str, Any]:
    """One request of inbox.callbacks.queue, ready for the template."""
    mine = item["state"] == "claimed" and item["claimed_by"] == who.staff_id
    not_before = item["not_before"]
    window_later = (item["preferred_time"] is not None and item["state"] == "queued"
                    and _local(item["preferred_time"]["from"]) > now)
    return {
        **item, "mine": mine,
        "number": pretty_phone(item["phone"]) if mine else masked_phone(item["phone"]),
        "full_number": pretty_phone(item["phone"]),
        "window": window_of(item["preferred_time"], now),
        "waiting": duration_parts(item["waiting_s"]),
        "not_before_at": (day_of(_local(not_before), now)
                          if not_before and _local(not_before) > now else None),
        "window_later": window_later,
        "history": [{**h, "when": day_of(_local(h["at"]), now)}
                    for h in item.get("history", [])],
    }


def call_row(call: dict[str, Any], now: datetime) -> dict[str, Any]:
    missed = call["direction"] == "in" and not call["answered_at"] and bool(call["ended_at"])
    return {**call, "number": pretty_phone(call["phone"]) if call["phone"] else "",
            "when": day_of(_local(call["started_at"]), now), "missed": missed,
            "minutes": (call["duration_s"] + 59) // 60 if call["duration_s"] else None}


def _keep_lang(request: web.Request) -> dict[str, str]:
    """A `?lang=` asked for stays on the page we send the counsellor back to."""
    asked = asked_language(request)
    return {"lang": asked} if asked else {}


def _outcome(callback: CallbackRequest, result: str) -> str:
    if callback.state == "done":
        return "reached"
    if callback.state == "failed":
        return "wrong_number" if result == "wrong_number" else "failed"
    return "retry"


def _refusal(problem: Problem) -> str:
    if problem.status == 404:
        return "gone"
    if problem.title == "Busy":
        return "busy"
    if problem.title == "Not yours":
        return "not_yours"
    return "taken"


@dataclass
class CallForm:
    """What the counsellor typed into "log a call", and what was wrong with it."""

    phone: str = ""
    direction: str = "in"
    notes: str = ""
    minutes: str = ""
    resident_id: str = ""
    resident_label: str = ""
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    errors: dict[str, str] = field(default_factory=dict)  # field -> msgid


@dataclass
class PhonePages:
    store: Store
    router: Router | None
    clock: Callable[[], datetime]
    rules: QueueRules = field(default_factory=QueueRules)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/callbacks", self.callbacks),
            web.post("/callbacks/claim", self.claim_next),
            web.post("/callbacks/{id}/claim", self.claim),
            web.post("/callbacks/{id}/attempts", self.attempt),
            web.post("/callbacks/{id}/cancel", self.cancel),
            web.get("/calls/new", self.new_call),
            web.post("/calls/new", self.log_call),
            web.post("/contacts/{id}/possible-match", self.possible_match),
        ]

    # --- the queue ------------------------------------------------------------------------
    async def callbacks(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        now = self.clock()
        items = await self.store.call(queue, who, now, self.rules, "page.callbacks")
        rows = [queue_row(i, who, now) for i in items]
        notice = {k: request.query[k] for k in (*NOTICES, "outcome", "id")
                  if k in request.query}
        shown = notice.get("done")
        return render_page(request, "callbacks.html", who, now=now,
                     mine=[r for r in rows if r["mine"]],
                     rows=[r for r in rows if r["state"] != "failed"],
                     failed=[r for r in rows if r["state"] == "failed"],
                     notice=notice, retry_wait=duration_parts(
                         int(self.rules.retry_after.total_seconds())),
                     claim_minutes=int(self.rules.claim_timeout.total_seconds() // 60),
                     done_row=next((r for r in rows if str(r["id"]) == shown), None))

    def _back(self, request: web.Request, **query: object) -> web.HTTPSeeOther:
        return web.HTTPSeeOther("/callbacks?" + urlencode({**_keep_lang(request), **query}))

    async def claim_next(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        try:
            callback = await self.store.call(claim_next, who, self.clock(), self.rules)
        except Problem as problem:
            raise self._back(request, refused=_refusal(problem)) from problem
        raise self._back(request, claimed=callback.id if callback else "none")

    async def claim(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        callback_id = path_id(request)
        try:
            await self.store.call(claim, who, callback_id, self.clock(), self.rules)
        except Problem as problem:
            raise self._back(request, refused=_refusal(problem), id=callback_id) from problem
        raise self._back(request, claimed=callback_id)

    async def attempt(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        callback_id = path_id(request)
        form = await request.post()
        result = str(form.get("result", ""))
        try:
            callback = await self.store.call(record_attempt, who, callback_id, result,
                                             str(form.get("notes", "")).strip(), self.clock(),
                                             self.rules)
        except Problem as problem:
            if problem.status == 400:
                raise
            raise self._back(request, refused=_refusal(problem), id=callback_id) from problem
        raise self._back(request, done=callback_id, outcome=_outcome(callback, result))

    async def cancel(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        callback_id = path_id(request)
        try:
            await self.store.call(cancel, who, callback_id, self.clock())
        except Problem as problem:
            raise self._back(request, refused=_refusal(problem), id=callback_id) from problem
        raise self._back(request, cancelled=callback_id)

    # --- log a call -----------------------------------------------------------------------
    async def new_call(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        direction = request.query.get("direction", "in")
        form = CallForm(phone=request.query.get("phone", "")[:40],
                        direction=direction if direction in ("in", "out") else "in")
        return await self._call_page(request, who, form)

    async def _call_page(self, request: web.Request, who: Principal, form: CallForm,
                         status: int = 200) -> web.Response:
        now = self.clock()
        calls = await self.store.call(recent_calls, who, RECENT_CALLS)
        response = render_page(request, "calls_new.html", who, form=form,
                         calls=[call_row(c, now) for c in calls], max_notes=MAX_NOTES,
                         max_minutes=MAX_MINUTES, phone_errors=PHONE_ERRORS)
        response.set_status(status)
        return response

    async def log_call(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        posted = await request.post()
        def field_(name: str) -> str:
            return str(posted.get(name, "")).strip()

        form = CallForm(phone=field_("phone"), direction=field_("direction"),
                        notes=field_("notes"), minutes=field_("minutes"),
                        resident_id=field_("resident_id"),
                        resident_label=field_("resident_label")[:300],
                        client_id=field_("client_id")[:60] or str(uuid.uuid4()))
        phone = self._check(form)
        if form.errors or phone is None:
            return await self._call_page(request, who, form, 400)
        inbound = Inbound(
            channel="phone", kind="call", trust="staff",
            idempotency_key=f"call:{who.staff_id}:{form.client_id}",
            text=form.notes or "(puhelu)", sender_phone=phone, handled_by=who.staff_id,
            subject="Puhelu" if form.direction == "in" else "Soitto asiakkaalle",
            received_at=self.clock(),
            resident_id=int(form.resident_id) if form.resident_id else None)
        duration = int(form.minutes) * 60 if form.minutes else None
        for attempt in range(2):
            try:
                logged = await self.store.call(self._log, who, inbound, form.direction,
                                               duration)
                break
            except IntegrityError:  # a double submit raced its twin: the twin's answer
                if attempt == 1:
                    raise
            except Problem as problem:
                if problem.status != 404:
                    raise
                form.errors["resident_id"] = N_("Choose a resident from the search results, "
                                                "or none.")
                form.resident_id = form.resident_label = ""
                return await self._call_page(request, who, form, 400)
        query = {**_keep_lang(request), "phone_notice": "logged"}
        raise web.HTTPSeeOther(f"/contacts/{logged['contact_id']}?{urlencode(query)}")

    @staticmethod
    def _check(form: CallForm) -> str | None:
        """Each field's problem into `form.errors`; the number in E.164 when it will do."""
        phone = None
        try:
            phone = normalise_phone(form.phone)
        except InvalidPhone as exc:
            form.errors["phone"] = PHONE_ERRORS.get(exc.code, PHONE_ERRORS["phone.invalid"])
        if form.direction not in ("in", "out"):
            form.errors["direction"] = N_("Choose who called.")
            form.direction = "in"
        if form.minutes and not (form.minutes.isascii() and form.minutes.isdigit()
                                 and int(form.minutes) <= MAX_MINUTES):
            form.errors["minutes"] = N_("Give the duration in whole minutes, at most "
                                        "%(max)s.")
        if len(form.notes) > MAX_NOTES:
            form.errors["notes"] = N_("The notes are too long (at most %(max)s characters).")
        elif "\x00" in form.notes:
            form.errors["notes"] = N_("The notes have a character that cannot be stored. "
                                      "Write them again.")
        if form.resident_id and not (form.resident_id.isascii() and form.resident_id.isdigit()
                                     and 0 < int(form.resident_id) <= MAX_ID):
            form.errors["resident_id"] = N_("Choose a resident from the search results, "
                                            "or none.")
            form.resident_id = form.resident_label = ""
        return phone

    def _log(self, session: Session, who: Principal, inbound: Inbound, direction: str,
             duration: int | None) -> dict[str, Any]:
        assert self.router is not None, "the web app was built without a router"
        return log_routed_call(session, who, inbound, direction, duration, self.router.route)

    # --- a public request's possible match ------------------------------------------------
    async def possible_match(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        contact_id = path_id(request)
        action = str((await request.post()).get("action", ""))
        if action not in ("confirm", "reject"):
            raise Problem(400, "Bad request", "action must be 'confirm' or 'reject'")
        try:
            await self.store.call(resolve_possible_match, who, contact_id, action == "confirm")
        except Problem as problem:
            if problem.status != 409:
                raise
            notice = "match_gone"  # someone resolved it a moment ago
        else:
            notice = "linked" if action == "confirm" else "separate"
        query = urlencode({**_keep_lang(request), "phone_notice": notice})
        raise web.HTTPSeeOther(f"/contacts/{contact_id}?{query}")
