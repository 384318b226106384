"""Who may see what, and the access log row every read of personal data writes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import Session

from inbox.models import AccessLog, Contact

ALL_AREAS_ROLES = frozenset({"lead", "admin"})
ROLES = ("counsellor", "lead", "admin")


@dataclass(frozen=True)
class Principal:
    """An authenticated staff member, as the services need them."""

    staff_id: int
    email: str
    name: str
    role: str
    areas: tuple[str, ...]
    available: bool = True

    @property
    def sees_all_areas(self) -> bool:
        return self.role in ALL_AREAS_ROLES


def visible_contacts(who: Principal) -> ColumnElement[bool]:
    """Own areas, own assignments and the city-wide pool (contacts no area claims yet)."""
    if who.sees_all_areas:
        return true()
    return or_(
        Contact.area_code.in_(who.areas) if who.areas else false(),
        Contact.assignee_id == who.staff_id,
        Contact.area_code.is_(None),
    )


def can_see(who: Principal, contact: Contact) -> bool:
    return (
        who.sees_all_areas
        or contact.area_code is None
        or contact.area_code in who.areas
        or contact.assignee_id == who.staff_id
    )


def log_access(
    session: Session,
    who: Principal,
    view: str,
    *,
    contact: Contact | None = None,
    action: str = "read",
) -> None:
    session.add(
        AccessLog(
            staff_id=who.staff_id,
            view=view,
            action=action,
            contact_id=contact.id if contact else None,
            resident_id=contact.resident_id if contact else None,
        )
    )


def event_rooms(event: dict[str, object]) -> list[str]:
    """The /inbox rooms an event goes to: the area's, the assignee's, leads', the pool."""
    rooms = ["all"]
    area, assignee = event.get("area"), event.get("assignee_id")
    rooms.append(f"area:{area}" if area else "pool")
    if assignee:
        rooms.append(f"staff:{assignee}")
    return rooms


def rooms_of(who: Principal) -> list[str]:
    if who.sees_all_areas:
        return ["all", f"staff:{who.staff_id}"]
    return [f"staff:{who.staff_id}", "pool", *(f"area:{a}" for a in who.areas)]
