"""A case (inbox.cases.case_detail) made ready for the case page, in the reader's words:
the timeline (case events and the resident's contacts on the case, newest first), the key
dates with the urgency each causes, and the follow-up plan with what is overdue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from inbox.hours import HELSINKI
from inbox.taxonomy import CaseVocabulary
from web import case_words as w


def local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(HELSINKI)


def day_text(day: date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


def moment_text(iso: str) -> str:
    """9.12.2026 13.30 in Helsinki time; a day alone when it was recorded for a day."""
    at = local(iso)
    if (at.hour, at.minute, at.second) == (0, 0, 0):
        return day_text(at.date())
    return f"{day_text(at.date())} {at.hour}.{at.minute:02d}"


def _words(gettext: Callable[[str], str]) -> dict[str, dict[Any, str]]:
    return {name: w.code_words(gettext, table) for name, table in (
        ("outcome", w.OUTCOMES), ("intervention", w.INTERVENTIONS),
        ("housing", w.HOUSING_TYPES), ("partner", w.PARTNERS), ("meeting", w.MEETINGS),
        ("follow_up", w.FOLLOW_UP_KINDS), ("letter", w.LETTERS), ("event", w.EVENTS),
        ("urgency", w.URGENCY), ("case_status", w.CASE_STATUS),
        ("contact_status", w.CONTACT_STATUS), ("channel", w.CHANNELS),
        ("language", w.LANGUAGE_NAMES), ("key_date", w.KEY_DATES))}


def vocabulary(lang: str, gettext: Callable[[str], str], step_labels: dict[int, str],
               reason: Callable[[str, object], str], vocab: CaseVocabulary
               ) -> dict[str, dict[Any, str]]:
    """Every code the page shows or offers, in the reader's words, in the vocabulary's order
    (a code the vocabulary allows but no table knows is shown as itself)."""
    words = _words(gettext)
    steps = w.step_words(lang, gettext, step_labels)
    words["step"] = {code: steps.get(code, str(code)) for code in sorted(vocab.steps)}
    words["step_choice"] = {code: f"{code}. {label}" for code, label in words["step"].items()}
    words["reason"] = {code: reason(lang, code) for code in sorted(vocab.reasons)}
    for name, codes in (("outcome", vocab.outcomes), ("intervention", vocab.interventions),
                        ("housing", vocab.housing_types), ("partner", vocab.partners),
                        ("meeting", vocab.meetings), ("follow_up", vocab.follow_up_kinds)):
        words[name] = {code: words[name].get(code, code) for code in codes}
    return words


def timeline(case: dict[str, Any], words: dict[str, dict[Any, str]],
             staff_names: dict[int, str]) -> list[dict[str, Any]]:
    """One list of what happened on the case, newest first: every case event and every
    contact of the resident on this case."""
    items: list[tuple[datetime, int, dict[str, Any]]] = []
    for e in case["events"]:
        kind, code = e["kind"], e["code"]
        what = {
            "step": words["step"].get(code, str(code)) if code is not None else "",
            "intervention": words["intervention"].get(code, code or ""),
            "partner": words["partner"].get(code, code or ""),
            "meeting": words["meeting"].get(code, code or ""),
            "letter": words["letter"].get(code, code or ""),
            "closed": words["outcome"].get(code, code or ""),
            "handover": staff_names.get(int(code), "") if code and str(code).isdigit()
            else "",
        }.get(kind, "")
        items.append((local(e["at"]), e["id"], {
            "type": "event", "kind": kind, "title": words["event"].get(kind, kind),
            "what": what, "step": code if kind == "step" else None, "text": e["text"],
            "by": e["by"], "at": e["at"], "when": moment_text(e["at"])}))
    for c in case["contacts"]:
        items.append((local(c["at"]), c["id"], {
            "type": "contact", "kind": "contact", "id": c["id"],
            "title": words["event"]["contact"], "channel": c["channel"],
            "channel_text": words["channel"].get(c["channel"], c["channel"]),
            "status": words["contact_status"].get(c["status"], c["status"]),
            "text": c["summary"] or "", "at": c["at"], "when": moment_text(c["at"])}))
    items.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [item for _at, _id, item in items]


KEY_DATE_RULES = (  # which date raises the case to which urgency, within how many days
    ("eviction_date", "eviction", "urgent", "urgent_eviction_days"),
    ("hearing_date", "hearing", "high", "high_hearing_days"),
    ("discharge_date", "discharge", "high", "high_discharge_days"),
)


def key_dates(case: dict[str, Any], today: date, vocab: CaseVocabulary
              ) -> list[dict[str, Any]]:
    """Each key date, how far it is, and what it does to the urgency (inbox.cases'
    date_urgency: within its days it raises the case; a date passed counts no more)."""
    rows = []
    for field, key, level, days_name in KEY_DATE_RULES:
        days = int(getattr(vocab, days_name))
        raw = case["dates"][key]
        day = date.fromisoformat(raw) if raw else None
        left = (day - today).days if day else None
        effect = ("none" if day is None else "passed" if left is not None and left < 0
                  else "now" if left is not None and left <= days else "later")
        rows.append({"field": field, "value": raw or "", "text": day_text(day) if day else "",
                     "left": left, "level": level, "days": days, "effect": effect,
                     "from": day_text(day - timedelta(days=days))
                     if day and day > date.min + timedelta(days=days) else ""})
    return rows


def follow_ups(case: dict[str, Any], today: date) -> list[dict[str, Any]]:
    rows = []
    for f in case["follow_ups"]:
        due = date.fromisoformat(f["due"])
        state = ("done" if f["done_at"] else "overdue" if due < today
                 else "today" if due == today else "planned")
        rows.append({**f, "due_text": day_text(due), "state": state,
                     "done_text": moment_text(f["done_at"]) if f["done_at"] else ""})
    return rows
