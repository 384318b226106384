"""Read-only questions the router asks while deciding where a contact goes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from inbox.access import visible_contacts
from inbox.models import (
    Area,
    AreaPostalCode,
    Case,
    Contact,
    Conversation,
    Message,
    Partner,
    Resident,
    ResidentIdentifier,
    Staff,
    StaffArea,
)
from inbox.staff import principal_of

OPEN_STATES = ("open", "answered")


def resident_by_identifiers(
    session: Session, identifiers: Iterable[tuple[str, str]]
) -> Resident | None:
    for kind, value in identifiers:
        resident = session.scalar(
            select(Resident)
            .join(ResidentIdentifier, ResidentIdentifier.resident_id == Resident.id)
            .where(ResidentIdentifier.kind == kind, ResidentIdentifier.value == value)
        )
        if resident is not None:
            return resident
    return None


def postal_areas(session: Session, codes: Iterable[str] | None = None
                 ) -> dict[str, tuple[str, str, str]]:
    """postal code -> (area code, area name, district) for the codes we know (None: all)."""
    query = (select(AreaPostalCode.postal_code, Area.code, Area.name, AreaPostalCode.district)
             .join(Area, Area.code == AreaPostalCode.area_code))
    if codes is not None:
        query = query.where(AreaPostalCode.postal_code.in_(list(codes)))
    return {pc: (code, name, district) for pc, code, name, district in session.execute(query)}


def partner_by_domain(session: Session, domain: str) -> Partner | None:
    for partner in session.scalars(select(Partner)):
        if domain.lower() in partner.domains:
            return partner
    return None


def open_case_of(session: Session, resident_id: int) -> Case | None:
    return session.scalar(
        select(Case)
        .where(Case.resident_id == resident_id, Case.status == "open")
        .order_by(Case.opened_at.desc())
        .limit(1)
    )


def least_loaded_counsellor(
    session: Session, area_code: str, language: str | None
) -> tuple[Staff, int] | None:
    """The available counsellor of the area with the fewest open contacts.

    Ties go to one who speaks the resident's language, then to the longest-serving.
    """
    load = (
        select(func.count(Contact.id))
        .where(and_(Contact.assignee_id == Staff.id, Contact.status.in_(OPEN_STATES)))
        .correlate(Staff)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Staff, load)
        .join(StaffArea, StaffArea.staff_id == Staff.id)
        .where(StaffArea.area_code == area_code, Staff.available.is_(True),
               Staff.role == "counsellor")
        .order_by(load, Staff.id)
    ).all()
    if not rows:
        return None
    fewest = rows[0][1]
    tied = [(s, n) for s, n in rows if n == fewest]
    for staff, n in tied:
        if language and language in (staff.languages or []):
            return staff, n
    return tied[0]


def contact_for_thread(session: Session, message_ids: Iterable[str]) -> int | None:
    """The contact whose conversation holds one of these Message-IDs (newest reference first)."""
    ids = [m for m in message_ids if m]
    if not ids:
        return None
    return session.scalar(
        select(Contact.id)
        .join(Message, Message.conversation_id == Contact.conversation_id)
        .where(Message.channel_message_id.in_(ids))
        .order_by(Message.id.desc())
        .limit(1)
    )


def sender_belongs_to(session: Session, contact_id: int, sender_email: str | None) -> bool:
    """Is this the thread's own resident or partner? (Quoting a Message-ID is not enough.)"""
    if not sender_email:
        return False
    sender = sender_email.strip().lower()
    contact = session.get(Contact, contact_id)
    if contact is None:
        return False
    conversation = session.get(Conversation, contact.conversation_id)
    if conversation is not None and (conversation.reply_to or "").lower() == sender:
        return True
    if contact.resident_id is not None and session.scalar(
            select(ResidentIdentifier.id).where(
                ResidentIdentifier.resident_id == contact.resident_id,
                ResidentIdentifier.kind == "email", ResidentIdentifier.value == sender)):
        return True
    partner = session.get(Partner, contact.partner_id) if contact.partner_id else None
    return partner is not None and sender.rpartition("@")[2] in partner.domains


def contact_for_conversation(session: Session, conversation_id: int) -> int | None:
    return session.scalar(select(Contact.id).where(Contact.conversation_id == conversation_id))


def conversations_under_way(session: Session, conversation_ids: Iterable[int]
                            ) -> dict[int, int | None]:
    """Of these conversations, those that exist and have not ended, each with its contact
    (None: it has none, as a conversation whose contact was erased)."""
    return dict(session.execute(
        select(Conversation.id, Contact.id)
        .outerjoin(Contact, Contact.conversation_id == Conversation.id)
        .where(Conversation.id.in_(set(conversation_ids)), Conversation.ended_at.is_(None))
    ).all())


def resident_visible(session: Session, staff_id: int | None, resident_id: int) -> bool:
    """May this staff member see this resident: one of the resident's contacts is in
    their areas (or assigned to them, or in the city-wide pool); leads see everyone."""
    staff = session.get(Staff, staff_id) if staff_id is not None else None
    if staff is None:
        return False
    return session.scalar(select(Contact.id).where(
        Contact.resident_id == resident_id, visible_contacts(principal_of(staff))).limit(1)
    ) is not None
