"""Finding contacts: search by name, phone, email and text; filters; urgency-first order.

Text search uses each engine's own full-text index (migration 0010): PostgreSQL with the
Finnish and Swedish configurations (stemmed, so "vuokravelka" finds "vuokravelkaa"),
SQLite FTS5 with prefix matching. What a person types is never FTS syntax: it is split
into words and each quoted, so `"`, `*`, `OR` or `'; DROP` are just text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal_column, or_, select, text
from sqlalchemy.orm import Session, selectinload

from inbox.access import Principal, in_visible_area, log_access, visible_contacts
from inbox.errors import bad_request
from inbox.models import (
    Area,
    Contact,
    Message,
    Partner,
    Resident,
    ResidentIdentifier,
    Staff,
)

FOLDERS = ("mine", "areas", "unassigned", "all")
URGENCY_RANK = case((Contact.urgency == "urgent", 0), (Contact.urgency == "high", 1), else_=2)
PG_VECTOR = "(to_tsvector('finnish', messages.text) || to_tsvector('swedish', messages.text))"
WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class ContactQuery:
    folder: str = "areas"
    q: str = ""
    phone: str | None = None  # q as E.164, when it is a phone number
    channel: str | None = None
    status: str | None = None
    urgency: str | None = None
    area: str | None = None
    assignee: str | None = None  # a staff id, "me" or "none"
    waiting_min: int | None = None
    page: int = 1
    per_page: int = 50


def _text_match(session: Session, q: str) -> Any:
    words = WORD.findall(q)[:10]
    if not words:
        return None
    if session.get_bind().dialect.name == "postgresql":
        return literal_column(PG_VECTOR).op("@@")(
            func.plainto_tsquery("finnish", " ".join(words)).op("||")(
                func.plainto_tsquery("swedish", " ".join(words))))
    fts = " ".join('"' + w.replace('"', '""') + '"*' for w in words)
    return Message.id.in_(select(literal_column("rowid")).select_from(text("messages_fts"))
                          .where(literal_column("messages_fts").op("MATCH")(fts)))


def _filtered(session: Session, who: Principal, query: ContactQuery, now: datetime) -> Any:
    if query.folder not in FOLDERS:
        raise bad_request(f"folder must be one of {', '.join(FOLDERS)}", field="folder")
    stmt = select(Contact).where(visible_contacts(who))
    if query.folder == "mine":
        stmt = stmt.where(Contact.assignee_id == who.staff_id)
    elif query.folder == "unassigned":
        stmt = stmt.where(Contact.assignee_id.is_(None))
    elif query.folder == "areas":  # the area rule without what one holds elsewhere
        stmt = stmt.where(in_visible_area(who, Contact.area_code))
    for column, value in ((Contact.channel, query.channel), (Contact.status, query.status),
                          (Contact.urgency, query.urgency), (Contact.area_code, query.area)):
        if value:
            stmt = stmt.where(column == value)
    if query.assignee == "none":
        stmt = stmt.where(Contact.assignee_id.is_(None))
    elif query.assignee == "me":
        stmt = stmt.where(Contact.assignee_id == who.staff_id)
    elif query.assignee:
        stmt = stmt.where(Contact.assignee_id == int(query.assignee))
    if query.waiting_min is not None:
        stmt = stmt.where(Contact.status == "open",
                          Contact.updated_at <= now - timedelta(minutes=query.waiting_min))
    if query.q.strip():
        needle = query.q.strip().lower()
        by_person = select(ResidentIdentifier.resident_id).where(
            ResidentIdentifier.kind.in_(("email", "phone")),
            ResidentIdentifier.value.in_([v for v in (needle, query.phone) if v]))
        by_name = select(Resident.id).where(func.lower(Resident.name).contains(
            needle, autoescape=True))
        matches = [Contact.resident_id.in_(by_person), Contact.resident_id.in_(by_name),
                   func.lower(Contact.summary).contains(needle, autoescape=True)]
        words = _text_match(session, query.q)
        if words is not None:
            matches.append(Contact.conversation_id.in_(
                select(Message.conversation_id).where(words)))
        stmt = stmt.where(or_(*matches))
    return stmt


def find_contacts(session: Session, who: Principal, query: ContactQuery, now: datetime,
                  view: str = "api.contacts") -> tuple[list[Contact], int]:
    """One page of matching contacts, urgency first then the longest waiting, and the total."""
    stmt = _filtered(session, who, query, now)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    waiting_first = case((Contact.status == "open", 0), else_=1)
    contacts = list(session.scalars(
        stmt.order_by(waiting_first, URGENCY_RANK, Contact.updated_at, Contact.id)
        .offset((query.page - 1) * query.per_page).limit(query.per_page)))
    _load_what_rows_show(session, contacts)
    for contact in contacts:
        log_access(session, who, view, contact=contact)
    return contacts, total


def _load_what_rows_show(session: Session, contacts: list[Contact]) -> None:
    """The page's residents (with their identifiers), staff, areas and partners in one
    query each, into the session: each row's lookups then cost nothing, where they cost
    one or two queries a row. The session's identity map holds objects weakly, so the
    unit of work keeps them (in `session.info`) until it ends."""
    kept = session.info.setdefault("page_lookups", [])
    lookups: list[tuple[Any, Any, set[Any], list[Any]]] = [
        (Resident, Resident.id, {c.resident_id for c in contacts},
         [selectinload(Resident.identifiers)]),
        (Staff, Staff.id, {c.assignee_id for c in contacts}, []),
        (Area, Area.code, {c.area_code for c in contacts}, []),
        (Partner, Partner.id, {c.partner_id for c in contacts}, [])]
    for model, key, ids, options in lookups:
        wanted = [i for i in ids if i is not None]
        if wanted:
            kept.extend(session.scalars(select(model).where(key.in_(wanted))
                                        .options(*options)))


def count_contacts(session: Session, who: Principal, query: ContactQuery, now: datetime,
                   contact_id: int | None = None) -> int:
    """How many contacts match (not access-logged: no personal data); with `contact_id`,
    whether that one does (1 or 0): a live inbox asks it to patch one row."""
    stmt = _filtered(session, who, query, now)
    if contact_id is not None:
        stmt = stmt.where(Contact.id == contact_id)
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def folder_counts(session: Session, who: Principal, now: datetime) -> dict[str, int]:
    """How many open contacts each folder holds (no personal data: not access-logged)."""
    counts = {}
    for folder in FOLDERS:
        stmt = _filtered(session, who, ContactQuery(folder=folder, status="open"), now)
        counts[folder] = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return counts
