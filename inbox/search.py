"""Finding contacts: the folders, the filters, the search (inbox/search_words.py), one
page in the queue's order (open first, then urgency, then the longest waiting) and how
many match, counted up to a cap, so a list costs the same at a thousand contacts or a
million."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session, selectinload

from inbox.access import Principal, in_visible_area, log_reads, visible_contacts
from inbox.errors import bad_request
from inbox.models import Area, Contact, Partner, Resident, Staff
from inbox.search_words import finds, found_ids

FOLDERS = ("mine", "areas", "unassigned", "all")
COUNT_CAP = 1000  # past it a person refines the search rather than pages on
LISTED = 2 * COUNT_CAP  # a search finding more is walked in the queue's order instead


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


def _in_folder(who: Principal, folder: str) -> ColumnElement[bool]:
    """Within what one may see: "areas" is the area rule without what one holds elsewhere."""
    if folder == "mine":
        return Contact.assignee_id == who.staff_id
    if folder == "unassigned":
        return Contact.assignee_id.is_(None)
    return in_visible_area(who, Contact.area_code) if folder == "areas" else true()


class Scope(NamedTuple):
    """What the search words found: every id (`complete`), or the first LISTED of more."""
    ids: list[int]
    complete: bool

    @classmethod
    def walked(cls) -> Scope:
        """Nothing listed: each row is checked against the words (for one row, or more)."""
        return cls([], False)


def _scope(session: Session, query: ContactQuery) -> Scope | None:
    if not query.q.strip():
        return None
    return Scope(*found_ids(session, query.q, query.phone, LISTED))


def _filtered(session: Session, who: Principal, query: ContactQuery, now: datetime,
              scope: Scope | None = None) -> Any:
    if query.folder not in FOLDERS:
        raise bad_request(f"folder must be one of {', '.join(FOLDERS)}", field="folder")
    stmt = select(Contact).where(visible_contacts(who), _in_folder(who, query.folder))
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
    if scope is not None:
        stmt = stmt.where(Contact.id.in_(scope.ids) if scope.complete
                          else finds(session, query.q, query.phone))
    return stmt


class Found(NamedTuple):
    contacts: list[Contact]
    total: int  # how many match, counted up to COUNT_CAP
    capped: bool  # more than `total` match: the count stopped there


def _bounded_count(session: Session, stmt: Any) -> tuple[int, bool]:
    """Counting every match of a million rows costs more than the page itself; past the
    cap a person refines the search rather than pages on, so the count stops there."""
    counted = session.scalar(select(func.count()).select_from(
        stmt.with_only_columns(Contact.id).limit(COUNT_CAP + 1).subquery())) or 0
    return min(counted, COUNT_CAP), counted > COUNT_CAP


def _counted(session: Session, who: Principal, query: ContactQuery, now: datetime,
             scope: Scope | None) -> tuple[int, bool]:
    """Up to the cap; a search with more matches than are listed counts those listed that
    pass the filters, "at least" that many (counting the walk would read every row)."""
    if scope is None or scope.complete:
        return _bounded_count(session, _filtered(session, who, query, now, scope))
    total, _ = _bounded_count(session, _filtered(session, who, query, now,
                                                 scope._replace(complete=True)))
    return total, True


def find_contacts(session: Session, who: Principal, query: ContactQuery, now: datetime,
                  view: str = "api.contacts") -> Found:
    """One page of matching contacts in the queue's order (open first, urgency, the
    longest waiting), and how many match."""
    scope = _scope(session, query)
    stmt = _filtered(session, who, query, now, scope)
    total, capped = _counted(session, who, query, now, scope)
    contacts = list(session.scalars(
        stmt.order_by(Contact.queue_rank, Contact.updated_at, Contact.id)
        .offset((query.page - 1) * query.per_page).limit(query.per_page)))
    _load_what_rows_show(session, contacts)
    log_reads(session, who, view, contacts)
    if capped:  # "at least": never fewer than the pages up to this one show
        total = max(total, (query.page - 1) * query.per_page + len(contacts))
    return Found(contacts, total, capped)


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


def count_contacts(session: Session, who: Principal, query: ContactQuery, now: datetime
                   ) -> tuple[int, bool]:
    """How many contacts match, up to the cap, and whether more do (not access-logged:
    no personal data)."""
    return _counted(session, who, query, now, _scope(session, query))


def matches(session: Session, who: Principal, query: ContactQuery, now: datetime,
            contact_id: int) -> bool:
    """Whether this contact is in the query: a live inbox asks it to patch one row."""
    scope = Scope.walked() if query.q.strip() else None  # one row: checked, not listed
    stmt = _filtered(session, who, query, now, scope).where(Contact.id == contact_id)
    return session.scalar(select(stmt.with_only_columns(Contact.id).exists())) or False


def folder_counts(session: Session, who: Principal, now: datetime) -> dict[str, int]:
    """How many open contacts each folder holds, in one pass over the open ones (no
    personal data: not access-logged)."""
    row = session.execute(select(*(func.count().filter(_in_folder(who, f)) for f in FOLDERS))
                          .where(visible_contacts(who), Contact.status == "open")).one()
    return dict(zip(FOLDERS, (n or 0 for n in row), strict=True))
