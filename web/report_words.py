"""The figures' codes in words: Finnish for the API and CSV (the deck's own labels), the
reader's language on the page. Taxonomy order comes from the reference data and config."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inbox.taxonomy import CaseVocabulary
from web.case_words import CHANNELS, INTERVENTIONS, N_, OUTCOMES, step_words
from web.i18n import Catalogs
from web.routing_text import RoutingText

FOLLOW_UP_STATES = {"done_on_time": N_("Done on time"), "done_late": N_("Done late"),
                    "missed": N_("Missed"), "ahead": N_("Still ahead")}
TITLES = {
    "who-contacted": N_("Who contacted"), "reasons": N_("Reasons for becoming a client"),
    "rent-debt-process": N_("Rent-debt process steps"),
    "interventions": N_("Interventions on ended cases"), "outcomes": N_("Outcomes"),
    "channels": N_("Contacts per channel"),
    "first-answer": N_("First answer per channel and area"),
    "open-cases": N_("Open cases per counsellor"), "follow-ups": N_("Follow-ups due"),
}

PERIOD_ERRORS = {
    "period.date": N_("Give both dates, e.g. 31.1.2026."),
    "period.reversed": N_("The start of the period is after its end."),
    "period.too_long": N_("A period is at most ten years."),
    "area.unknown": N_("There is no such area."),
    "area.forbidden": N_("You can see the figures of your own areas only."),
}


@dataclass
class ReportWords:
    catalogs: Catalogs
    labels: dict[str, dict[int, str]]  # the reference data's Finnish labels by taxonomy
    vocab: CaseVocabulary

    def order(self, name: str) -> tuple[Any, ...]:
        return {
            "who-contacted": tuple(sorted(self.labels.get("who", {}))),
            "reasons": tuple(sorted(self.labels.get("reasons", {}))),
            "rent-debt-process": tuple(sorted(self.vocab.steps)),
            "interventions": self.vocab.interventions, "outcomes": self.vocab.outcomes,
            "channels": tuple(CHANNELS),
        }.get(name, ())

    def gettext(self, lang: str) -> Callable[[str], str]:
        return lambda message: self.catalogs.gettext(lang, message)

    def label(self, lang: str, name: str, item: dict[str, Any]) -> str:
        """One item's words; an unrecorded code (None) is "not recorded"."""
        _ = self.gettext(lang)
        code = item.get("code")
        if name == "open-cases":
            return item.get("name") or _("No counsellor")
        if name == "first-answer":
            area = RoutingText(self.catalogs).area(lang, item.get("area"))
            return f"{_(CHANNELS.get(str(code), str(code)))} · {area}"
        if code is None:
            return _("Not recorded")
        if name == "who-contacted":
            return self._reference(lang, "who", code, "who_contacted")
        if name == "reasons":
            return RoutingText(self.catalogs).reason(lang, code)
        if name == "rent-debt-process":
            return step_words(lang, _, self.labels.get("steps", {})).get(code, str(code))
        table = {"interventions": INTERVENTIONS, "outcomes": OUTCOMES, "channels": CHANNELS,
                 "follow-ups": FOLLOW_UP_STATES}.get(name, {})
        return _(table[code]) if code in table else str(code)

    def _reference(self, lang: str, taxonomy: str, code: int, prefix: str) -> str:
        """The deck's Finnish label; another language's from the catalog when it has one."""
        key = f"{prefix}.{code}"
        text = self.catalogs.gettext(lang, key)
        if lang != "fi" and text != key:
            return text
        return self.labels.get(taxonomy, {}).get(code, str(code))

    def title(self, lang: str, name: str) -> str:
        return self.catalogs.gettext(lang, TITLES[name])
