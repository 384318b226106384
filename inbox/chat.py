"""Chat-specific reads and writes: where a waiting resident stands, ending, transferring.

A chat is *queued* until a counsellor joins it (answers or takes it: `Contact.joined_by_id`),
*offline* while its area is closed and nobody has joined, *closed* once either side ends it.
Positions count the open, unjoined, unended chats of the same area (or of the city-wide
pool), oldest first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.access import Principal, can_see, log_access
from inbox.contacts import contact_event
from inbox.errors import Problem, bad_request, not_found, require_storable
from inbox.hours import ServiceHours
from inbox.identity import redact_identity_codes
from inbox.models import Area, Contact, Conversation, Message, Staff, StaffArea
from inbox.roles import can
from inbox.store import emit

MAX_NOTE = 1000
FEW = 8  # a status asked for this few chats counts their places instead of listing all


@dataclass(frozen=True)
class Waiting:
    conversation_id: int
    contact_id: int
    area_code: str | None


_WAITING = (Contact.channel == "chat", Contact.status != "closed",
            Contact.joined_by_id.is_(None), Conversation.ended_at.is_(None))


def first_name(name: str | None) -> str | None:
    return name.split()[0] if name and name.split() else None


def waiting_chats(session: Session, among: set[int] | None = None) -> list[Waiting]:
    """Every chat still waiting for a counsellor (or those `among` these conversations),
    oldest first."""
    query = (select(Contact.conversation_id, Contact.id, Contact.area_code)
             .join(Conversation, Conversation.id == Contact.conversation_id)
             .where(*_WAITING).order_by(Contact.id))
    if among is not None:
        query = query.where(Contact.conversation_id.in_(among))
    return [Waiting(c, k, a) for c, k, a in session.execute(query)]


def _places(session: Session, among: set[int] | None) -> list[tuple[Waiting, int]]:
    """The waiting chats asked for, each with its place in its area's queue (1 first)."""
    if among is not None and len(among) <= FEW:  # a start's or a settle's one chat
        return [(chat, _place(session, chat)) for chat in waiting_chats(session, among)]
    places: dict[str | None, int] = {}
    found = []
    for chat in waiting_chats(session):
        places[chat.area_code] = place = places.get(chat.area_code, 0) + 1
        if among is None or chat.conversation_id in among:
            found.append((chat, place))
    return found


def _place(session: Session, chat: Waiting) -> int:
    """How many chats of its area (or of the city-wide pool) wait before it, itself too."""
    same_area = (Contact.area_code.is_(None) if chat.area_code is None
                 else Contact.area_code == chat.area_code)
    return int(session.scalar(
        select(func.count()).select_from(Contact)
        .join(Conversation, Conversation.id == Contact.conversation_id)
        .where(*_WAITING, same_area, Contact.id <= chat.contact_id)) or 0)


def available_counsellors(session: Session, area_code: str | None) -> int:
    query = select(func.count(func.distinct(Staff.id))).where(
        Staff.available.is_(True), Staff.role == "counsellor")
    if area_code is not None:
        query = query.join(StaffArea, StaffArea.staff_id == Staff.id).where(
            StaffArea.area_code == area_code)
    return int(session.scalar(query) or 0)


def expected_wait(position: int, counsellors: int, handling_s: int) -> int | None:
    """Whole rounds of chats ahead of this one, each taking a counsellor `handling_s`."""
    if counsellors <= 0:
        return None
    return math.ceil(position / counsellors) * handling_s


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def statuses(session: Session, conversation_ids: set[int] | None, now: datetime,
             hours: ServiceHours, handling_s: int) -> dict[int, dict[str, Any]]:
    """The `status` payload of each conversation asked for (None: every waiting one)."""
    result: dict[int, dict[str, Any]] = {}
    counsellors: dict[str | None, int] = {}
    offline: dict[str | None, dict[str, Any] | None] = {}  # per area, for this moment
    for chat, position in _places(session, conversation_ids):
        if chat.area_code not in offline:
            area_hours = hours.of(chat.area_code)
            offline[chat.area_code] = None if area_hours.is_open(now) else {
                "state": "offline", "opens_at": _iso(area_hours.opens_at(now))}
        if (closed := offline[chat.area_code]) is not None:
            result[chat.conversation_id] = dict(closed)
            continue
        if chat.area_code not in counsellors:
            counsellors[chat.area_code] = available_counsellors(session, chat.area_code)
        result[chat.conversation_id] = {
            "state": "queued", "position": position,
            "expected_wait_s": expected_wait(position, counsellors[chat.area_code],
                                              handling_s)}
    for conversation_id in (conversation_ids or set()) - set(result):
        found = _settled_status(session, conversation_id)
        if found is not None:
            result[conversation_id] = found
    return result


def _settled_status(session: Session, conversation_id: int) -> dict[str, Any] | None:
    """A chat no longer waiting: joined by a counsellor, or closed."""
    row = session.execute(
        select(Contact, Conversation).join(Conversation,
                                           Conversation.id == Contact.conversation_id)
        .where(Contact.conversation_id == conversation_id)
    ).first()
    if row is None:
        return None
    contact, conversation = row
    if conversation.ended_at is not None or contact.status == "closed":
        by = conversation.ended_by or "counsellor"
        return {"state": "closed", "event": f"ended_by_{by}"}
    staff = session.get(Staff, contact.joined_by_id) if contact.joined_by_id else None
    return {"state": "assigned", "counsellor": first_name(staff.name if staff else None)}


def availability(session: Session, area_code: str | None, now: datetime,
                 hours: ServiceHours, handling_s: int) -> dict[str, Any]:
    """What a resident is told before writing: open?, when, how many wait, how long."""
    area_hours = hours.of(area_code)
    is_open = area_hours.is_open(now)
    queue = sum(1 for w in waiting_chats(session) if w.area_code == area_code)
    return {
        "open": is_open,
        "opens_at": _iso(area_hours.opens_at(now)) if not is_open else None,
        "closes_at": _iso(area_hours.closes_at(now)),
        "queue_length": queue,
        "expected_wait_s": expected_wait(queue + 1, available_counsellors(session, area_code),
                                          handling_s) if is_open else None,
        "area": area_code,
    }


def contact_of_conversation(session: Session, conversation_id: int) -> Contact | None:
    return session.scalar(select(Contact).where(Contact.conversation_id == conversation_id))


def end_by_resident(session: Session, conversation_id: int) -> bool:
    """The resident ends the chat; the counsellor sees it (the contact stays where it is)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return False
    if conversation.ended_at is None:
        conversation.ended_at, conversation.ended_by = datetime.now(UTC), "resident"
        contact = contact_of_conversation(session, conversation_id)
        if contact is not None:
            contact.updated_at = conversation.ended_at
            emit(session, contact_event("contact.updated", contact))
    return True


def transfer(session: Session, who: Principal, contact_id: int, to_staff_id: int | None,
             to_area: str | None, note: str) -> Contact:
    """Hand a contact to another counsellor or area, with a note, as a routing step.

    The receiver must work contacts (not an auditor, not disabled) and in the contact's (new)
    area, unless they are a lead or admin or the contact is city-wide; the chat goes back to
    waiting for them to join.
    """
    contact = session.get(Contact, contact_id)
    if contact is None or not can_see(who, contact):
        raise not_found(f"contact {contact_id}")
    require_storable(note)
    note = redact_identity_codes((note or "").strip())  # a note is read by people: no codes
    if not note or len(note) > MAX_NOTE:
        raise bad_request(f"note is required (at most {MAX_NOTE} characters): say why")
    if to_staff_id is None and to_area is None:
        raise bad_request("give to_staff_id, to_area or both")
    if to_area is not None and session.get(Area, to_area) is None:
        raise bad_request(f"unknown area {to_area!r}")
    area = to_area if to_area is not None else contact.area_code
    staff = session.get(Staff, to_staff_id) if to_staff_id is not None else None
    if to_staff_id is not None:
        if staff is None:
            raise bad_request(f"unknown staff member {to_staff_id}")
        if not can(staff.role, "work") or staff.disabled_at is not None:
            raise bad_request(f"{staff.name} does not work contacts (an auditor, or a disabled "
                              "account) and could not see this one: choose a counsellor",
                              "Not a counsellor", code="transfer.not_a_worker")
        if (area is not None and not can(staff.role, "all_areas")
                and area not in staff.area_codes):
            raise Problem(409, "Not in that area",
                          f"{staff.name} does not work in area {area}; choose the area too")
    contact.area_code = area
    contact.assignee_id = staff.id if staff is not None else None
    contact.joined_by_id = contact.joined_at = None
    contact.status = "open" if contact.status == "closed" else contact.status
    contact.updated_at = datetime.now(UTC)
    steps = list((contact.routing or {}).get("steps", []))
    step = {"rule": "transfer", "code": "transfer.moved", "params": {
        "by": who.name, "by_id": who.staff_id, "to_staff": staff.name if staff else None,
        "to_staff_id": staff.id if staff else None, "to_area": to_area, "note": note,
        "at": contact.updated_at.isoformat()}}
    # The summary says where the contact is now and why: the transfer.
    contact.routing = {**(contact.routing or {}), "steps": [*steps, step],
                       "summary": {"area": area, "by": step}}
    log_access(session, who, "transfer", contact=contact, action="write")
    emit(session, {**contact_event("contact.updated", contact), "transferred": True})
    return contact


def wire_message(message: Message) -> dict[str, Any]:
    """A message as the resident's chat receives it."""
    out = message.direction == "out"
    data: dict[str, Any] = {"id": message.id, "seq": message.seq, "text": message.text,
                            "sender": "counsellor" if out else "resident",
                            "name": first_name(message.sender) if out else None,
                            "at": message.at.isoformat()}
    if not out and message.client_id:
        data["client_id"] = message.client_id
    return data


def replay(session: Session, conversation_id: int, after_id: int) -> list[dict[str, Any]]:
    messages = session.scalars(
        select(Message).where(Message.conversation_id == conversation_id,
                              Message.id > after_id).order_by(Message.id))
    return [wire_message(m) for m in messages]


def started_conversation(session: Session, token_hash: str) -> dict[str, Any] | None:
    """A conversation already started with this token (a start sent twice)."""
    conversation = session.scalar(select(Conversation).where(
        Conversation.token_hash == token_hash))
    if conversation is None:
        return None
    first = session.scalar(select(Message).where(
        Message.conversation_id == conversation.id).order_by(Message.id).limit(1))
    return {"conversation_id": conversation.id, "id": first.id if first else None,
            "seq": first.seq if first else None}
