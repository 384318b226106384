"""What staff read: contact lists and details, each read written to the access log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.access import Principal, can_see, log_access
from inbox.attachments import read_reason
from inbox.crypto import ATTACHMENT_BYTES
from inbox.errors import Problem, not_found
from inbox.lookups import open_case_of, resident_visible
from inbox.models import (
    Area,
    Attachment,
    CallLog,
    Contact,
    ContactNote,
    Conversation,
    Message,
    Partner,
    Resident,
    Staff,
)
from inbox.quoting import quoted_from
from inbox.search import ContactQuery, find_contacts
from inbox.store import sealer_of, snapshot

FOLDERS = ("mine", "areas", "unassigned", "all")
LIST_LIMIT = 200


def _staff_ref(staff: Staff | None) -> dict[str, Any] | None:
    return {"id": staff.id, "name": staff.name, "email": staff.email} if staff else None


def contact_json(session: Session, contact: Contact) -> dict[str, Any]:
    area = session.get(Area, contact.area_code) if contact.area_code else None
    partner = session.get(Partner, contact.partner_id) if contact.partner_id else None
    resident = session.get(Resident, contact.resident_id) if contact.resident_id else None
    return {
        "id": contact.id,
        "channel": contact.channel,
        "status": contact.status,
        "area": contact.area_code,
        "area_name": area.name if area else None,
        "assignee": _staff_ref(session.get(Staff, contact.assignee_id))
        if contact.assignee_id else None,
        "case_id": contact.case_id,
        "resident_id": contact.resident_id,
        "language": contact.language,
        "resident": _resident_json(resident),
        "partner": partner.name if partner else None,
        "who_contacted": contact.who_contacted,
        "reason": contact.reason,
        "urgency": contact.urgency,
        "summary": contact.summary,
        "routing": contact.routing,
        "received_at": contact.received_at.isoformat(),
        "updated_at": contact.updated_at.isoformat(),
    }


def _resident_json(resident: Resident | None) -> dict[str, Any] | None:
    if resident is None:
        return None
    ids = {i.kind: i.value for i in resident.identifiers if i.kind in ("email", "phone")}
    return {"id": resident.id, "name": resident.name, "postal_code": resident.postal_code,
            "language": resident.language, **ids}


def message_json(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message.id,
        "seq": message.seq,
        "direction": message.direction,
        "text": message.text,
        "sender": message.sender,
        "at": message.at.isoformat(),
        "has_html": bool(message.html),
        "attachments": [_attachment_json(a) for a in message.attachments],
        # Where quoted history starts in `text` (mail only: it has a Message-ID), or None.
        "quoted_from": quoted_from(message.text)
        if message.direction == "in" and message.channel_message_id else None,
    }
    if message.direction == "out":
        data["delivery"] = {
            "state": message.delivery_state,
            "attempts": message.delivery_attempts,
            "error": message.delivery_error,
            "secure": message.secure,
            "opened_at": message.opened_at.isoformat() if message.opened_at else None,
        }
    return data


def _attachment_json(attachment: Attachment) -> dict[str, Any]:
    """`quarantine_reason` is the stored code object (web/attachment_text.py words it);
    `state` says what a download gives: the file, a held file (leads and admins), or
    nothing, as the file was too large to store."""
    reason = read_reason(attachment.quarantine_reason)
    state = "stored" if reason is None else "not_stored" if reason.not_stored else "quarantined"
    return {"id": attachment.id, "filename": attachment.filename,
            "content_type": attachment.content_type, "size": attachment.size,
            "state": state, "quarantine_reason": reason.as_json() if reason else None}


def list_contacts(
    session: Session, who: Principal, folder: str = "areas", view: str = "api.contacts"
) -> list[dict[str, Any]]:
    """A folder's first page, urgency first then the longest waiting (inbox/search.py)."""
    found = find_contacts(session, who, ContactQuery(folder=folder, per_page=LIST_LIMIT),
                          datetime.now(UTC), view)
    return [contact_json(session, c) for c in found.contacts]


def visible_contact(session: Session, who: Principal, contact_id: int) -> Contact:
    """The contact if this staff member may see it; 404 either way so ids leak nothing."""
    contact = session.get(Contact, contact_id)
    if contact is None or not can_see(who, contact):
        raise not_found(f"contact {contact_id}")
    return contact


def contact_detail(
    session: Session, who: Principal, contact_id: int, view: str = "api.contact"
) -> dict[str, Any]:
    snapshot(session)  # the status and the delivery states from one moment
    contact = visible_contact(session, who, contact_id)
    log_access(session, who, view, contact=contact)
    conversation = session.get(Conversation, contact.conversation_id)
    messages = session.scalars(
        select(Message).where(Message.conversation_id == contact.conversation_id)
        .order_by(Message.at, Message.id)  # a mail routed after its reply still comes first
    ).all()
    data = contact_json(session, contact)
    data["subject"] = conversation.subject if conversation else None
    if conversation is not None and contact.channel == "chat":
        data["chat"] = {"ended_at": conversation.ended_at.isoformat()
                        if conversation.ended_at else None, "ended_by": conversation.ended_by,
                        "email": conversation.contact_email}
    data["messages"] = [message_json(m) for m in messages]
    calls = session.execute(
        select(CallLog, Staff.name).outerjoin(Staff, Staff.id == CallLog.staff_id)
        .where(CallLog.contact_id == contact.id).order_by(CallLog.started_at)
    ).all()
    data["calls"] = [{"id": c.id, "direction": c.direction, "notes": c.notes,
                      "started_at": c.started_at.isoformat(), "duration_s": c.duration_s,
                      "staff": name} for c, name in calls]
    data["possible_match"] = possible_match(session, who, contact)
    data["notes"] = [  # internal: never sent, shown apart from the messages
        {"id": n.id, "text": n.text, "at": n.at.isoformat(), "by": name}
        for n, name in session.execute(
            select(ContactNote, Staff.name).join(Staff, Staff.id == ContactNote.staff_id)
            .where(ContactNote.contact_id == contact.id).order_by(ContactNote.at,
                                                                  ContactNote.id))]
    return data


def possible_match(session: Session, who: Principal, contact: Contact) -> dict[str, Any] | None:
    """The known resident a public request's number belongs to, shown (never linked) until
    a counsellor confirms; only the fact of it when that resident is outside one's areas."""
    if contact.possible_resident_id is None:
        return None
    if not resident_visible(session, who.staff_id, contact.possible_resident_id):
        return {"visible": False}
    resident = session.get(Resident, contact.possible_resident_id)
    case = open_case_of(session, contact.possible_resident_id)
    return {"visible": True, "resident_id": contact.possible_resident_id,
            "name": resident.name if resident else None, "case_id": case.id if case else None}


def message_html(session: Session, who: Principal, contact_id: int, message_id: int) -> str:
    """The sanitised HTML of one inbound message, for the sandboxed frame."""
    contact = visible_contact(session, who, contact_id)
    message = session.get(Message, message_id)
    if message is None or message.conversation_id != contact.conversation_id or not message.html:
        raise not_found(f"message {message_id}")
    log_access(session, who, "message.html", contact=contact)
    return message.html


def attachment_data(session: Session, who: Principal, contact_id: int, attachment_id: int
                    ) -> tuple[str, bytes]:
    contact = visible_contact(session, who, contact_id)
    attachment = session.get(Attachment, attachment_id)
    message = session.get(Message, attachment.message_id) if attachment else None
    if attachment is None or message is None or message.conversation_id != contact.conversation_id:
        raise not_found(f"attachment {attachment_id}")
    reason = read_reason(attachment.quarantine_reason)
    if reason is not None and reason.not_stored:
        raise Problem(404, "Not stored", f"{attachment.filename} was not stored ({reason}); "
                                         "the raw mail still holds it")
    if reason is not None and not who.can("lead"):
        raise Problem(403, "Quarantined", f"{attachment.filename} is held ({reason}); "
                                          "only a lead or an admin can download it")
    log_access(session, who, "attachment", contact=contact)
    return attachment.filename, sealer_of(session).open(attachment.data, ATTACHMENT_BYTES)


def conversation_by_token(session: Session, token_hash: str) -> Conversation | None:
    return session.scalar(select(Conversation).where(Conversation.token_hash == token_hash))
