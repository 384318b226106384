"""The contact page's forms and the words of its codes.

Correcting the routing, internal notes and reply templates follow inbox.contact_work's,
inbox.chat.transfer's and inbox.templates' rules; this reads what a form sent, checks only
what a form can get wrong before them (a code not in the list, an empty why), and keeps each
refusal as a message id at its field, so the page says it in the counsellor's words next to
what they typed. Codes are stored, words come from the catalogs (contact.po; the words the
case page shows too come from its cases.po).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inbox.cases import URGENCY
from inbox.chat import MAX_NOTE
from inbox.errors import Problem, require_storable
from inbox.taxonomy import CaseVocabulary
from web import case_words as w
from web.case_words import N_

DELIVERY = {
    "pending": N_("Sending"),
    "sent": N_("Sent"),
    "retrying": N_("Not delivered yet: trying again"),
    "failed": N_("Not sent"),
    "bounced": N_("Bounced: the mail did not arrive"),
    "notified": N_("Secure message: notification sent"),
    "opened": N_("Secure message: opened"),
    "replied": N_("Secure message: the resident replied"),
    "expired": N_("Secure message: the link expired unopened"),
}
# The HDS status label each state wears (words beside it, never colour alone).
DELIVERY_LOOK = {"sent": "success", "notified": "success", "opened": "success",
                 "replied": "success", "pending": "info", "retrying": "alert",
                 "expired": "alert", "failed": "error", "bounced": "error"}
UNDELIVERED = ("failed", "bounced")
WHO_CONTACTED = {
    1: N_("The resident themself"), 2: N_("Social services"), 3: N_("Rent accounting"),
    4: N_("Health services"), 5: N_("Property company staff"),
    6: N_("Neighbour or house committee"), 7: N_("Relatives"),
    8: N_("Housing advice clinic"), 9: N_("Deacon"), 10: N_("Other"),
}
STATUS = {**w.CONTACT_STATUS, "undelivered": N_("Reply not delivered")}
CORRECTED = {"reason": N_("Reason"), "who_contacted": N_("Who contacted"),
             "urgency": N_("Urgency"), "area": N_("Area")}
ROLES = {"counsellor": N_("counsellor"), "lead": N_("lead"), "admin": N_("administrator")}
# Each language in its own name, as language pickers show them.
ENDONYMS = {"fi": "Suomi", "sv": "Svenska", "en": "English"}

TOO_LONG = N_("The text is too long (at most %(max)s characters).")
UNSTORABLE = N_("The text has characters that cannot be saved (a NUL or a broken "
                "character). Write it again.")
ROUTING_FIELDS = ("area", "reason", "who_contacted", "urgency", "why")
MAX_WHY = MAX_NOTE  # an area change is a transfer, whose note is at most this long
MAX_NOTE_TEXT = 20_000
MAX_REPLY = 20_000


@dataclass
class ContactForm:
    """One form of the contact page as it was sent, and what was wrong with it."""

    name: str = ""  # routing, note, reply, transfer
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    def value(self, form: str, name: str, default: object = "") -> str:
        return self.values.get(name, "") if self.name == form else str(default or "")

    def refuse(self, at: str, message: str, **params: Any) -> None:
        """`at` is the field (or `_form`), `message` a message id with its `params`."""
        self.errors.setdefault(at, (message, params))

    def bad(self, form: str, name: str) -> bool:
        return self.name == form and name in self.errors

    @property
    def first_bad(self) -> str | None:
        return next(iter(self.errors), None)


def storable(text: str) -> bool:
    try:
        require_storable(text)
    except Problem:
        return False
    return True


def posted_form(name: str, posted: Mapping[str, Any], fields: tuple[str, ...]) -> ContactForm:
    return ContactForm(name, {f: str(posted.get(f, "")).strip() for f in fields})


def check_text(form: ContactForm, name: str, required: str, limit: int) -> None:
    text = form.values[name]
    if not text:
        form.refuse(name, required)
    elif len(text) > limit:
        form.refuse(name, TOO_LONG, max=limit)
    elif not storable(text):
        form.refuse(name, UNSTORABLE)


@dataclass(frozen=True)
class Correction:
    changes: dict[str, Any]  # reason, who_contacted, urgency: corrected by contact_work
    to_area: str | None  # the area: moved by a transfer
    why: str


def read_correction(form: ContactForm, contact: dict[str, Any], vocab: CaseVocabulary,
                    areas: set[str]) -> Correction | None:
    """What the routing form asks to change; None (with form.errors) when it cannot."""
    v = form.values
    changes: dict[str, Any] = {}
    for name, allowed, message in (
            ("reason", vocab.reasons, N_("Choose the reason from the list.")),
            ("who_contacted", vocab.who_contacted, N_("Choose who contacted from the list."))):
        raw = v[name]
        if not raw:
            continue  # left as "not recognised": nothing to correct
        if not (raw.isascii() and raw.isdigit() and int(raw) in allowed):
            form.refuse(name, message)
        elif int(raw) != contact[name]:
            changes[name] = int(raw)
    if v["urgency"] not in URGENCY:
        form.refuse("urgency", N_("Choose the urgency from the list."))
    elif v["urgency"] != contact["urgency"]:
        changes["urgency"] = v["urgency"]
    to_area = None
    if v["area"] and v["area"] not in areas:
        form.refuse("area", N_("Choose the area from the list."))
    elif v["area"] and v["area"] != contact["area"]:
        to_area = v["area"]
    check_text(form, "why", N_("Say why you correct the routing: the next reader sees it "
                               "under “Why here”."), MAX_WHY)
    if not form.errors and not changes and to_area is None:
        form.refuse("_form", N_("Nothing was changed: choose a new value in at least one "
                                "field."))
    return None if form.errors else Correction(changes, to_area, v["why"])


def code_words(gettext: Callable[[str], str], area: Callable[[str | None], str],
               reason: Callable[[object], str], vocab: CaseVocabulary,
               areas: list[str]) -> dict[str, dict[Any, str]]:
    """Every code the contact page shows or offers, in the reader's words."""
    words: dict[str, dict[Any, str]] = {name: w.code_words(gettext, table) for name, table in (
        ("delivery", DELIVERY), ("status", STATUS), ("channel", w.CHANNELS),
        ("urgency", w.URGENCY), ("corrected", CORRECTED), ("role", ROLES))}
    words["who"] = {code: gettext(WHO_CONTACTED[code]) if code in WHO_CONTACTED else str(code)
                    for code in sorted(vocab.who_contacted)}
    words["reason"] = {code: reason(code) for code in sorted(vocab.reasons)}
    words["area"] = {code: area(code) for code in areas}
    return words


def step_view(step: dict[str, Any], words: dict[str, dict[Any, str]], received_at: str
              ) -> dict[str, Any]:
    """A routing step as "Why here" lists it: what, who, when and why. A correction says its
    old and new value in words (the stored codes stay); the router's own steps were taken
    by the service when the contact arrived."""
    params = step.get("params") or {}
    view = {"rule": step.get("rule", ""), "label": step.get("rule_label", ""),
            "text": step.get("text", ""), "by": params.get("by"), "automatic": False,
            "at": params.get("at"), "why": None}
    code = str(step.get("code", ""))
    if view["rule"] == "correct" and code.startswith("correct."):
        name = code.removeprefix("correct.")
        table = {"reason": "reason", "who_contacted": "who", "urgency": "urgency"}.get(name)
        shown = words.get(table or "", {})
        old, new = params.get("old"), params.get("new")
        view["field"] = words["corrected"].get(name, name)
        view["old"] = shown.get(old, str(old)) if old is not None else None
        view["new"] = shown.get(new, str(new))
        view["why"] = params.get("why")
    elif view["rule"] == "transfer":
        view["by"] = None  # the sentence names who and why already
    elif "by" not in params:
        view["automatic"], view["at"] = True, view["at"] or received_at
    return view


def why_here(steps: list[dict[str, Any]], words: dict[str, dict[Any, str]], received_at: str
             ) -> list[dict[str, Any]]:
    """Every step of "Why here"; the router's run of steps says once who and when."""
    views: list[dict[str, Any]] = []
    for step in steps:
        view = step_view(step, words, received_at)
        view["repeat"] = bool(view["automatic"] and views and views[-1]["automatic"])
        views.append(view)
    return views


def timeline(messages: list[dict[str, Any]], notes: list[dict[str, Any]]
             ) -> list[dict[str, Any]]:
    """Messages and internal notes as one list, oldest first; a note says it is one."""
    items = [{**m, "kind": "message"} for m in messages]
    items += [{**n, "kind": "note"} for n in notes]
    return sorted(items, key=lambda i: datetime.fromisoformat(i["at"]))


def last_reply(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    replies = [m for m in messages if m["direction"] == "out"]
    return replies[-1] if replies else None


def shown_status(contact: dict[str, Any]) -> str:
    """Delivery truth: a contact whose last reply failed or bounced never looks answered."""
    reply = last_reply(contact.get("messages") or [])
    if reply and (reply.get("delivery") or {}).get("state") in UNDELIVERED \
            and contact["status"] != "closed":
        return "undelivered"
    return str(contact["status"])


def template_choices(items: list[dict[str, Any]], language: str | None
                     ) -> list[tuple[str, list[dict[str, Any]]]]:
    """The picker's groups: the contact's language alone when it has templates, else every
    language, each its own group."""
    mine = [t for t in items if t["language"] == language]
    if mine:
        return [(str(language), mine)]
    return [(lang, [t for t in items if t["language"] == lang]) for lang in ENDONYMS
            if any(t["language"] == lang for t in items)]
