"""Who may see what, and the access log row every read of personal data writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, insert, or_, true
from sqlalchemy.orm import Session

from inbox.models import AccessLog, Case, Contact
from inbox.roles import can


@dataclass(frozen=True)
class Principal:
    """An authenticated staff member, as the services need them."""

    staff_id: int
    email: str
    name: str
    role: str
    areas: tuple[str, ...]
    available: bool = True
    ui_language: str | None = None  # their chosen UI language; none: the browser's

    @property
    def sees_all_areas(self) -> bool:
        return can(self.role, "all_areas")

    def can(self, capability: str) -> bool:
        return can(self.role, capability)


def in_visible_area(who: Principal, area: Any, holder: Any = None) -> ColumnElement[bool]:
    """The one area rule, as SQL: own areas, what one holds, and the city-wide pool (no
    area yet: any counsellor may take it); leads and admins see every area; a role that
    does not work cases (an auditor) sees no resident's record at all."""
    if not who.can("work"):
        return false()
    if who.sees_all_areas:
        return true()
    return or_(area.in_(who.areas) if who.areas else false(), area.is_(None),
               *([holder == who.staff_id] if holder is not None else []))


def area_visible(who: Principal, area_code: str | None, holder_id: int | None = None) -> bool:
    """The same rule for one record already loaded."""
    if not who.can("work"):
        return False
    return (who.sees_all_areas or area_code is None or area_code in who.areas
            or (holder_id is not None and holder_id == who.staff_id))


def visible_contacts(who: Principal) -> ColumnElement[bool]:
    return in_visible_area(who, Contact.area_code, Contact.assignee_id)


def can_see(who: Principal, contact: Contact) -> bool:
    return area_visible(who, contact.area_code, contact.assignee_id)


def basis(who: Principal, area: str | None, holder: int | None) -> str:
    """On what the read rests, for the use log: the role and the relation to the record."""
    if holder is not None and holder == who.staff_id:
        return "assigned"
    if who.sees_all_areas:
        return who.role
    if area is None:
        return "pool"
    return "own_area" if area in who.areas else "other"


def log_access(
    session: Session,
    who: Principal,
    view: str,
    *,
    contact: Contact | None = None,
    action: str = "read",
    case: Case | None = None,
    resident_id: int | None = None,
    basis_code: str | None = None,
) -> None:
    """The use-log row of one read, change or refusal ("read", "write", "refused"): whose
    record (the contact's or case's resident, or `resident_id` for a resident as a whole)
    and on what basis (the relation to the record, unless `basis_code` names it)."""
    session.add(AccessLog(**_entry(who, view, contact, action, case, resident_id, basis_code)))


def log_reads(session: Session, who: Principal, view: str, contacts: list[Contact]) -> None:
    """The use-log rows of a page of contacts, written in one statement (as objects, a
    page's fifty rows were a third of the list's time)."""
    if contacts:
        session.execute(insert(AccessLog), [_entry(who, view, c) for c in contacts])


def _entry(who: Principal, view: str, contact: Contact | None, action: str = "read",
           case: Case | None = None, resident_id: int | None = None,
           basis_code: str | None = None) -> dict[str, Any]:
    area = contact.area_code if contact else (case.area_code if case else None)
    holder = contact.assignee_id if contact else (case.counsellor_id if case else None)
    return {
        "staff_id": who.staff_id,
        "view": view[:60],
        "action": action,
        "basis": basis_code or basis(who, area, holder),
        "contact_id": contact.id if contact else None,
        "resident_id": contact.resident_id if contact else (
            case.resident_id if case else resident_id),
        "case_id": case.id if case else (contact.case_id if contact else None),
    }


def event_rooms(event: dict[str, object]) -> list[str]:
    """The /inbox rooms an event goes to: the area's, the assignee's, leads', the pool;
    an event for one person only (a screen pop) names its room."""
    if event.get("only_staff"):
        return [f"staff:{event['only_staff']}"]
    rooms = ["all"]
    area, assignee = event.get("area"), event.get("assignee_id")
    rooms.append(f"area:{area}" if area else "pool")
    if assignee:
        rooms.append(f"staff:{assignee}")
    return rooms


def rooms_of(who: Principal) -> list[str]:
    if not who.can("work"):
        return [f"staff:{who.staff_id}"]
    if who.sees_all_areas:
        return ["all", f"staff:{who.staff_id}"]
    return [f"staff:{who.staff_id}", "pool", *(f"area:{a}" for a in who.areas)]


def log_refusal(session: Session, who: Principal, view: str, kind: str,
                record_id: int | None) -> None:
    """A refused read or change, for the use log (the Act asks for success or refusal):
    written in its own transaction, since the refused one is rolled back. It names the
    record when it exists, so an auditor sees whose data was asked for."""
    contact = session.get(Contact, record_id) if kind == "contact" and record_id else None
    case = session.get(Case, record_id) if kind == "case" and record_id else None
    area = contact.area_code if contact else (case.area_code if case else None)
    log_access(session, who, view, contact=contact, case=case, action="refused",
               basis_code=basis(who, area, None))  # held or not, it was refused
    session.flush()
