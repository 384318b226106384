"""What the search words find: contacts by the resident's email or phone, by part of
their name, by part of the summary, and by the words of any message.

Each engine's own full-text index reads the message words (migrations 0010 and 0019):
PostgreSQL a stored Finnish + Swedish tsvector (stemmed, so "vuokravelka" finds
"vuokravelkaa"), SQLite FTS5 with prefix matching. What a person types is never FTS
syntax: it is split into words and each quoted, so `"`, `*`, `OR` or `'; DROP` are text.

Two shapes of one rule, for two kinds of search. Few matches (a name, a phone number):
the union of parts that each read one index lists them, and the page is sorted from that
list. Many matches (a common word): the queue's order is walked and each row checked, and
the first page is found long before the end; listing every match would cost far more.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal_column, or_, select, text, union_all
from sqlalchemy.orm import Session

from inbox.models import Contact, Message, Resident, ResidentIdentifier

WORD = re.compile(r"\w+", re.UNICODE)
PG_VECTOR: ColumnElement[Any] = literal_column("messages.search_vector")


def _words(session: Session, q: str) -> ColumnElement[bool] | None:
    """Whether a message has every word (PostgreSQL: stemmed in Finnish or in Swedish)."""
    words = WORD.findall(q)[:10]
    if not words:
        return None
    if session.get_bind().dialect.name == "postgresql":
        return PG_VECTOR.op("@@")(
            func.plainto_tsquery("finnish", " ".join(words)).op("||")(
                func.plainto_tsquery("swedish", " ".join(words))))
    fts = " ".join('"' + w.replace('"', '""') + '"*' for w in words)
    return Message.id.in_(select(literal_column("rowid")).select_from(text("messages_fts"))
                          .where(literal_column("messages_fts").op("MATCH")(fts)))


def _people(needle: str, phone: str | None) -> tuple[Any, Any]:
    """The residents by email or phone, and by part of the name."""
    return (select(ResidentIdentifier.resident_id).where(
                ResidentIdentifier.kind.in_(("email", "phone")),
                ResidentIdentifier.value.in_([v for v in (needle, phone) if v])),
            select(Resident.id).where(func.lower(Resident.name).contains(
                needle, autoescape=True)))


def found_ids(session: Session, q: str, phone: str | None, limit: int
              ) -> tuple[list[int], bool]:
    """The ids of the contacts the words find, and whether that is all of them: the parts
    are read one after another, and reading stops after `limit` rows (a contact found by
    two parts counts twice there, so "all" is never claimed for a list cut short)."""
    needle = q.strip().lower()
    # One part per index: joined into one, the people's part was planned as a full scan.
    parts = [*(select(Contact.id).where(Contact.resident_id.in_(people))
               for people in _people(needle, phone)),
             select(Contact.id).where(func.lower(Contact.summary).contains(
                 needle, autoescape=True))]
    words = _words(session, q)
    if words is not None:
        parts.append(select(Contact.id).join(
            Message, Message.conversation_id == Contact.conversation_id).where(words))
    found = union_all(*parts).subquery()
    rows = list(session.scalars(select(found.c.id).limit(limit + 1)))
    return list(dict.fromkeys(rows)), len(rows) <= limit


def finds(session: Session, q: str, phone: str | None) -> ColumnElement[bool]:
    """The same rule as a check of each contact row, for the walk in the queue's order."""
    needle = q.strip().lower()
    checks = [*(Contact.resident_id.in_(people) for people in _people(needle, phone)),
              func.lower(Contact.summary).contains(needle, autoescape=True)]
    words = _words(session, q)
    if words is not None:
        checks.append(exists(select(Message.id).where(
            Message.conversation_id == Contact.conversation_id, words)))
    return or_(*checks)
