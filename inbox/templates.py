"""Reply templates: kept by leads, per language, with placeholders filled per contact.

Placeholders are `{first_name}` (the resident's), `{counsellor}` (who answers) and
`{opening_hours}` (the contact's area, in the template's language); any other `{…}` is
refused when the template is saved, so a reply never goes out with a hole in it.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.access import Principal, log_access
from inbox.errors import Problem, bad_request, not_found
from inbox.models import ReplyTemplate, Resident
from inbox.views import visible_contact

PLACEHOLDERS = ("first_name", "counsellor", "opening_hours")
LANGUAGES = ("fi", "sv", "en")


def _check(name: object, language: object, text: object) -> tuple[str, str, str]:
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 100:
        raise bad_request("name must be 1 to 100 characters", field="name")
    if language not in LANGUAGES:
        raise bad_request(f"language must be one of {', '.join(LANGUAGES)}", field="language")
    if not isinstance(text, str) or not 0 < len(text.strip()) <= 10_000:
        raise bad_request("text must be 1 to 10000 characters", field="text")
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        raise bad_request(f"text has a broken placeholder: {exc}", field="text",
                          code="template.broken") from exc
    unknown = sorted(fields - set(PLACEHOLDERS))
    if unknown:
        raise bad_request(f"unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
                          f"use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}",
                          field="text", code="template.unknown_placeholder")
    return name.strip(), str(language), text.strip()


def _lead(who: Principal) -> None:
    if not who.can("lead"):
        raise Problem(403, "Leads only", "reply templates are kept by leads")


def save_template(session: Session, who: Principal, template_id: int | None, name: object,
                  language: object, text: object, now: datetime) -> ReplyTemplate:
    _lead(who)
    name, language, text = _check(name, language, text)
    template = session.get(ReplyTemplate, template_id) if template_id else ReplyTemplate()
    if template is None:
        raise not_found(f"template {template_id}")
    template.name, template.language, template.text = name, language, text
    template.updated_by, template.updated_at = who.staff_id, now
    session.add(template)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Problem(409, "Exists", f"a {language} template named {name!r} exists") from exc
    return template


def delete_template(session: Session, who: Principal, template_id: int) -> None:
    _lead(who)
    template = session.get(ReplyTemplate, template_id)
    if template is None:
        raise not_found(f"template {template_id}")
    session.delete(template)


def templates(session: Session, language: str | None = None) -> list[dict[str, Any]]:
    query = select(ReplyTemplate).order_by(ReplyTemplate.name, ReplyTemplate.language)
    if language:
        query = query.where(ReplyTemplate.language == language)
    return [{"id": t.id, "name": t.name, "language": t.language, "text": t.text}
            for t in session.scalars(query)]


def fill(session: Session, who: Principal, template_id: int, contact_id: int,
         hours_text: Callable[[str, str | None], str]) -> dict[str, Any]:
    """The template's text for this contact: the reply box's starting point."""
    template = session.get(ReplyTemplate, template_id)
    if template is None:
        raise not_found(f"template {template_id}")
    contact = visible_contact(session, who, contact_id)
    resident = session.get(Resident, contact.resident_id) if contact.resident_id else None
    log_access(session, who, "api.template.fill", contact=contact)  # reads the name
    first = (resident.name or "").split()[0] if resident and resident.name else ""
    text = template.text.format(first_name=first, counsellor=who.name,
                                opening_hours=hours_text(template.language, contact.area_code))
    return {"template_id": template.id, "language": template.language, "text": text}
