"""The only writers of contacts, conversations, messages, residents and cases."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from inbox.access import Principal, can_see, log_access
from inbox.crypto import ATTACHMENT_BYTES
from inbox.disclosures import mail_left
from inbox.errors import bad_request, not_found
from inbox.inbound import Inbound
from inbox.models import (
    Attachment,
    Case,
    Contact,
    Conversation,
    Message,
    RawInbound,
    Resident,
    ResidentIdentifier,
)
from inbox.store import emit, sealer_of

MAX_REPLY_CHARS = 20_000
DELIVERED = frozenset({"sent", "notified"})
UNDELIVERED = frozenset({"failed", "bounced"})


@dataclass
class Placement:
    """Where the router decided a new contact goes, and why (`steps`)."""

    who_contacted: int
    urgency: str
    steps: list[dict[str, Any]]  # {rule, code, params}: rendered by the reader
    summary: dict[str, Any]  # {area, by: the locate step}
    resident_id: int | None = None
    possible_resident_id: int | None = None  # a match a counsellor confirms or rejects
    identifiers: list[tuple[str, str]] = field(default_factory=list)
    partner_id: int | None = None
    reason: int | None = None
    area_code: str | None = None
    case_id: int | None = None
    open_case: bool = False
    assignee_id: int | None = None
    postal_code: str | None = None  # the one that located the contact


@dataclass(frozen=True)
class Recorded:
    contact_id: int
    conversation_id: int
    message_id: int
    created: bool  # False when the inbound was a redelivery of one already stored
    seq: int = 0  # the message's place in its conversation
    area_code: str | None = None


def contact_event(kind: str, contact: Contact) -> dict[str, Any]:
    """Events carry ids and routing keys only; clients fetch the rest (and that read is logged)."""
    return {
        "type": kind,
        "contact_id": contact.id,
        "channel": contact.channel,
        "conversation_id": contact.conversation_id,
        "area": contact.area_code,
        "assignee_id": contact.assignee_id,
        "urgency": contact.urgency,  # codes: an open inbox tells an urgent newcomer apart
        "status": contact.status,
    }


def _join(contact: Contact, who: Principal) -> None:
    """The first counsellor to answer or take a contact has joined it (the chat says so)."""
    if contact.joined_by_id is None:
        contact.joined_by_id, contact.joined_at = who.staff_id, datetime.now(UTC)


def _resident_for(session: Session, inbound: Inbound, placement: Placement
                  ) -> tuple[int | None, bool]:
    """(the resident's id, made just now): a new one gets the identifiers that found
    nobody (identify looked them all up under their locks), a known one those it lacks."""
    resident_id = placement.resident_id
    identifiers = list(dict.fromkeys(placement.identifiers))
    if resident_id is None and identifiers:
        resident = Resident(name=inbound.sender_name,
                            postal_code=placement.postal_code or inbound.postal_code,
                            language=inbound.language)
        session.add(resident)
        session.flush()
        session.add_all(ResidentIdentifier(resident_id=resident.id, kind=kind, value=value)
                        for kind, value in identifiers)
        return resident.id, True
    if resident_id is not None:
        for kind, value in identifiers:
            known = session.scalar(
                select(ResidentIdentifier).where(
                    ResidentIdentifier.kind == kind, ResidentIdentifier.value == value
                )
            )
            if known is None:
                session.add(ResidentIdentifier(resident_id=resident_id, kind=kind, value=value))
        known_resident = session.get(Resident, resident_id)
        if known_resident is not None and placement.postal_code:
            known_resident.postal_code = placement.postal_code
    return resident_id, False


def next_seq(session: Session, conversation_id: int) -> int:
    """The conversation's next message number (see `next_seqs`)."""
    return next_seqs(session, [conversation_id])[0]


def next_seqs(session: Session, conversation_ids: Sequence[int]) -> list[int]:
    """The next message number of each conversation named, in order (one named twice gets
    two), taken under its row lock in one UPDATE … RETURNING.

    Call it before adding the messages: the lock is then held from before their ids are
    drawn until commit, so within one conversation ids and seqs grow in commit order and a
    client that holds seq 1..n holds every message up to the nth.
    """
    counts = Counter(conversation_ids)
    if not counts:
        return []
    step = (case(counts, value=Conversation.id) if len(counts) > 1
            else next(iter(counts.values())))
    last = dict(session.execute(
        update(Conversation).where(Conversation.id.in_(counts))
        .values(last_seq=Conversation.last_seq + step)
        .returning(Conversation.id, Conversation.last_seq)
        .execution_options(synchronize_session=False)).all())
    if len(last) != len(counts):
        raise not_found(f"conversations {sorted(set(counts) - set(last))}")
    taken = {c: last[c] - n for c, n in counts.items()}
    seqs = []
    for conversation_id in conversation_ids:
        taken[conversation_id] += 1
        seqs.append(taken[conversation_id])
    return seqs


def _message_from(session: Session, inbound: Inbound, conversation_id: int, seq: int
                  ) -> Message:
    return Message(
        conversation_id=conversation_id,
        seq=seq,
        direction="in",
        sender=inbound.sender_name or inbound.sender_email or inbound.sender_phone or "resident",
        text=inbound.text,
        html=inbound.html,
        client_id=inbound.client_id,
        channel_message_id=inbound.channel_message_id,
        references=list(inbound.thread_ids),
        at=inbound.received_at,
        attachments=[
            Attachment(filename=a.filename, content_type=a.content_type,
                       size=len(a.data) if a.size is None else a.size,
                       data=sealer_of(session).seal(a.data, ATTACHMENT_BYTES),
                       quarantine_reason=a.quarantine_reason)
            for a in inbound.attachments
        ],
    )


def _mark_raw(session: Session, inbound: Inbound, contact_id: int) -> None:
    """Its raw input is routed (one UPDATE: loading the row would read the mail again)."""
    if inbound.raw_id is not None:
        session.execute(update(RawInbound).where(RawInbound.id == inbound.raw_id)
                        .values(state="processed", contact_id=contact_id, error=None)
                        .execution_options(synchronize_session=False))


def record_new_contact(session: Session, inbound: Inbound, placement: Placement) -> Recorded:
    resident_id, new_resident = _resident_for(session, inbound, placement)
    case_id = placement.case_id
    if case_id is None and placement.open_case and resident_id is not None:
        case = Case(
            resident_id=resident_id,
            area_code=placement.area_code,
            counsellor_id=placement.assignee_id,
            reasons=[placement.reason] if placement.reason else [],
            previous_case_id=None if new_resident else session.scalar(
                select(Case.id).where(Case.resident_id == resident_id,  # a later contact:
                                      Case.status == "closed")  # a new case, linked
                .order_by(Case.closed_at.desc(), Case.id.desc()).limit(1)),
        )
        session.add(case)
        session.flush()
        case_id = case.id
    conversation = Conversation(
        channel=inbound.channel,
        token_hash=inbound.chat_token_hash,
        subject=inbound.subject,
        reply_to=inbound.sender_email,
        contact_email=inbound.contact_email,
        last_seq=1,
    )
    session.add(conversation)
    session.flush()
    contact = Contact(
        channel=inbound.channel,
        who_contacted=placement.who_contacted,
        reason=placement.reason,
        urgency=placement.urgency,
        language=inbound.language,
        area_code=placement.area_code,
        assignee_id=placement.assignee_id,
        case_id=case_id,
        resident_id=resident_id,
        possible_resident_id=placement.possible_resident_id,
        partner_id=placement.partner_id,
        conversation_id=conversation.id,
        routing={"summary": placement.summary, "steps": placement.steps},
        summary=(inbound.subject or inbound.text)[:200],
        received_at=inbound.received_at,
        updated_at=inbound.received_at,
    )
    session.add(contact)
    message = _message_from(session, inbound, conversation.id, 1)
    session.add(message)
    session.flush()
    _mark_raw(session, inbound, contact.id)
    emit(session, contact_event("contact.created", contact))
    return Recorded(contact.id, conversation.id, message.id, True, 1, contact.area_code)


def find_duplicate(session: Session, inbound: Inbound) -> Recorded | None:
    """The stored message this inbound repeats (see `find_duplicates`)."""
    return find_duplicates(session, [inbound])[0]


def find_duplicates(session: Session, inbounds: Sequence[Inbound]) -> list[Recorded | None]:
    """The stored message each inbound repeats: a chat message with the same client_id.

    (Email redelivery is caught earlier, by the raw store's idempotency key.)
    """
    keys: set[tuple[int | None, str | None]] = {
        (i.conversation_id, i.client_id) for i in inbounds
        if i.client_id is not None and i.conversation_id is not None}
    if not keys:
        return [None] * len(inbounds)
    rows = session.execute(
        select(Message.conversation_id, Message.client_id, Message.id, Message.seq,
               Contact.id)
        .join(Contact, Contact.conversation_id == Message.conversation_id)
        .where(Message.conversation_id.in_({c for c, _ in keys}),
               Message.client_id.in_({k for _, k in keys})))
    found: dict[tuple[int | None, str | None], Recorded] = {
        (c, k): Recorded(contact_id, c, message_id, False, seq)
        for c, k, message_id, seq, contact_id in rows if (c, k) in keys}
    return [found.get((i.conversation_id, i.client_id)) for i in inbounds]


def append_inbound(session: Session, contact_id: int, inbound: Inbound) -> Recorded:
    """A follow-up in an existing conversation (see `append_inbounds`)."""
    return append_inbounds(session, [(contact_id, inbound)])[0]


def append_inbounds(session: Session, follow_ups: Sequence[tuple[int, Inbound]]
                    ) -> list[Recorded]:
    """Follow-ups in existing conversations, each into its contact, in order: each reopens
    its contact and pushes it to the top. Many at once cost a few statements, not a few
    each (a chat's group commit)."""
    contacts = {c.id: c for c in session.scalars(
        select(Contact).where(Contact.id.in_({i for i, _ in follow_ups})))}
    if missing := {i for i, _ in follow_ups} - set(contacts):
        raise not_found(f"contact {min(missing)}")
    seqs = next_seqs(session, [contacts[i].conversation_id for i, _ in follow_ups])
    added = []
    for (contact_id, inbound), seq in zip(follow_ups, seqs, strict=True):
        contact = contacts[contact_id]
        message = _message_from(session, inbound, contact.conversation_id, seq)
        session.add(message)
        reopened = contact.status == "closed" and not inbound.auto_reply
        if not inbound.auto_reply:  # an out-of-office reopens nothing
            contact.status = "open"
            # A parent mail routed after its reply (inbox/threads.py) moves nothing back.
            contact.updated_at = max(contact.updated_at, inbound.received_at)
        added.append((contact, inbound, message, reopened))
    session.flush()
    recorded = []
    for contact, inbound, message, reopened in added:
        _mark_raw(session, inbound, contact.id)
        # follow_up: only its time changed (a chat's place in the queue did not)
        emit(session, {**contact_event("contact.updated", contact), "follow_up": not reopened})
        emit(session, {**contact_event("message.created", contact), "message_id": message.id})
        recorded.append(Recorded(contact.id, contact.conversation_id, message.id, True,
                                 message.seq, contact.area_code))
    return recorded


def reply(session: Session, who: Principal, contact_id: int, text: str,
          secure: bool = False) -> Message:
    """Store a counsellor's answer as pending; its channel delivers it after commit
    (`secure`: as a portal link, the text never in the mail)."""
    text = (text or "").strip()
    if not text:
        raise bad_request("text must not be empty")
    if len(text) > MAX_REPLY_CHARS:
        raise bad_request(f"text is longer than {MAX_REPLY_CHARS} characters")
    contact = session.get(Contact, contact_id)
    if contact is None or not can_see(who, contact):
        raise not_found(f"contact {contact_id}")
    seq = next_seq(session, contact.conversation_id)
    message = Message(
        conversation_id=contact.conversation_id,
        seq=seq,
        direction="out",
        sender=who.name,
        text=text,
        staff_id=who.staff_id,
        delivery_state="pending",
        secure=secure,
    )
    session.add(message)
    if contact.assignee_id is None:
        contact.assignee_id = who.staff_id
    _join(contact, who)
    contact.updated_at = datetime.now(UTC)  # "answered" once the channel says it left
    session.flush()
    log_access(session, who, "reply", contact=contact, action="write")
    emit(session, contact_event("contact.updated", contact))
    return message


def mark_delivery(
    session: Session, message_id: int, state: str, error: str | None = None,
    channel_message_id: str | None = None,
) -> Message | None:
    # Locked: two marks at once (a duplicate job beside a bounce) must not mix their reads.
    message = session.get(Message, message_id, with_for_update=True)
    if message is None:
        return None
    message.delivery_state = state
    message.delivery_attempts += 1
    message.delivery_error = error
    if channel_message_id:
        message.channel_message_id = channel_message_id
    contact = session.scalar(
        select(Contact).where(Contact.conversation_id == message.conversation_id)
        .with_for_update()
    )
    if (contact is not None and message.direction == "out" and state in DELIVERED
            and contact.channel == "email"):
        mail_left(session, message, contact)
    if contact is not None and message.direction == "out" and contact.status != "closed":
        latest = session.scalar(
            select(Message.id).where(Message.conversation_id == message.conversation_id,
                                     Message.direction == "out")
            .order_by(Message.id.desc()).limit(1))
        if latest == message.id and state in DELIVERED | UNDELIVERED:
            # Delivery truth: answered only when the answer left; a failure needs action.
            contact.status = "answered" if state in DELIVERED else "open"
            emit(session, contact_event("contact.updated", contact))
    if contact is not None:
        emit(session, {**contact_event("message.delivery", contact), "message_id": message.id,
                       "state": state})
    return message


def take(session: Session, who: Principal, contact_id: int) -> Contact:
    """The staff member takes the contact (and its open case, if it has no counsellor)."""
    contact = session.get(Contact, contact_id)
    if contact is None or not can_see(who, contact):
        raise not_found(f"contact {contact_id}")
    contact.assignee_id = who.staff_id
    _join(contact, who)
    contact.updated_at = datetime.now(UTC)
    case = session.get(Case, contact.case_id) if contact.case_id else None
    if case is not None and case.counsellor_id is None:
        case.counsellor_id = who.staff_id
    log_access(session, who, "take", contact=contact, action="write")
    emit(session, contact_event("contact.updated", contact))
    return contact


def close(session: Session, who: Principal, contact_id: int) -> Contact:
    """Done for now; a new message on the conversation opens it again."""
    contact = session.get(Contact, contact_id)
    if contact is None or not can_see(who, contact):
        raise not_found(f"contact {contact_id}")
    contact.status = "closed"
    contact.updated_at = datetime.now(UTC)
    conversation = session.get(Conversation, contact.conversation_id)
    if contact.channel == "chat" and conversation and conversation.ended_at is None:
        conversation.ended_at, conversation.ended_by = contact.updated_at, "counsellor"
    log_access(session, who, "close", contact=contact, action="write")
    emit(session, contact_event("contact.updated", contact))
    return contact
