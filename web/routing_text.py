"""Routing decisions are stored as codes with parameters; this renders them for a reader.

A step is `{rule, code, params}` (router/context.py); the catalogs' `routing.po` holds one
sentence per code in fi, sv and en. Area and reason codes in the parameters become words;
steps stored before codes existed (`outcome`/`reason` text) are shown as they were.
"""

from __future__ import annotations

from typing import Any

from web.attachment_text import AttachmentText
from web.i18n import Catalogs


class RoutingText:
    def __init__(self, catalogs: Catalogs):
        self.catalogs = catalogs
        self.attachments = AttachmentText(catalogs)

    def _t(self, lang: str, key: str, **params: Any) -> str:
        return self.catalogs.gettext(lang, key, **params)

    def area(self, lang: str, code: str | None) -> str:
        if not code:
            return self._t(lang, "routing.city_wide")
        key = f"area.{code}"
        text = self._t(lang, key)
        return code if text == key else text

    def reason(self, lang: str, code: object) -> str:
        key = f"reason.{code}"
        text = self._t(lang, key)
        return str(code) if text == key else text

    def _params(self, lang: str, params: dict[str, Any]) -> dict[str, Any]:
        out = dict(params)
        if "area" in out:
            out["area"] = self.area(lang, out["area"])
        if "reason" in out:
            out["reason"] = self.reason(lang, out["reason"])
        if "kinds" in out:
            out["kinds"] = ", ".join(self._t(lang, f"routing.kind.{k}") for k in out["kinds"])
        if "candidates" in out:
            out["candidates"] = ", ".join(out["candidates"]) or self._t(lang, "routing.none")
        if "to_area" in out or "to_staff" in out:
            out["target"] = ", ".join(
                x for x in (out.get("to_staff"), self.area(lang, out["to_area"])
                            if out.get("to_area") else None) if x)
        return out

    def step(self, lang: str, step: dict[str, Any]) -> str:
        if "code" not in step:  # stored before routing decisions were codes
            return f"{step.get('outcome', '')}: {step.get('reason', '')}".strip(": ")
        params = self._params(lang, step.get("params") or {})
        try:
            return self._t(lang, f"routing.{step['code']}", **params)
        except (KeyError, ValueError, TypeError):  # a parameter the sentence does not know
            return str(step["code"])

    def rule(self, lang: str, rule: str) -> str:
        key = f"routing.rule.{rule}"
        text = self._t(lang, key)
        return rule if text == key else text

    def summary(self, lang: str, summary: Any) -> str:
        if not isinstance(summary, dict):  # stored before codes: already a sentence
            return str(summary or "")
        by = summary.get("by")
        how = self.step(lang, by) if by else self._t(lang, "routing.none")
        return self._t(lang, "routing.summary", area=self.area(lang, summary.get("area")),
                       how=how)

    def render(self, lang: str, routing: dict[str, Any]) -> dict[str, Any]:
        """The routing of a contact as the API and pages show it, in `lang`."""
        return {
            "summary": self.summary(lang, routing.get("summary")),
            "steps": [{**s, "rule_label": self.rule(lang, s.get("rule", "")),
                       "text": self.step(lang, s)} for s in routing.get("steps", [])],
        }

    def contact(self, lang: str, contact: dict[str, Any]) -> dict[str, Any]:
        """A contact JSON with its routing rendered (the stored codes stay in the steps), and
        its attachments' quarantine reasons (`quarantine_text`; the codes stay too)."""
        if isinstance(contact.get("routing"), dict):
            contact["routing"] = self.render(lang, contact["routing"])
        for message in contact.get("messages") or []:
            self.attachments.message(lang, message)
        return contact
