"""The secure-message portal (turvaposti): links, identification, reading and answering.

A counsellor's reply to a resident leaves as a *notification* with a link and none of its
text; the resident proves they hold the mailbox with a one-time code (`EmailCode`, behind
the small `Identification` protocol so SMS codes or Suomi.fi can replace it), then reads
the conversation and answers. An outsider can ask for a *compose* link to write to the
service. Tokens are HMACs of what they name (a job run twice mails the same link); only
their hashes are stored, codes likewise. Every open and every wrong code is access-logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.contacts import contact_event
from inbox.errors import Problem
from inbox.models import AccessLog, Contact, Message, SecureLink
from inbox.store import emit

CODE_LIFETIME = timedelta(minutes=15)
MAX_WRONG_CODES = 5
LOCK_TIME = timedelta(hours=1)
COMPOSE_DAYS = 10


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def link_token(key: bytes, kind: str, subject: str) -> str:
    """The token of a link: an HMAC of what it is for (no state to keep, none to guess)."""
    mac = hmac.new(key, f"secure:{kind}:{subject}".encode(), hashlib.sha256).digest()
    return mac[:24].hex()


def _log(session: Session, link: SecureLink, view: str, action: str = "read") -> None:
    contact_id = link.contact_id
    if contact_id is None and link.conversation_id is not None:
        contact_id = session.scalar(select(Contact.id).where(
            Contact.conversation_id == link.conversation_id))
    resident_id = session.scalar(select(Contact.resident_id).where(Contact.id == contact_id)
                                 ) if contact_id else None
    session.add(AccessLog(staff_id=None, actor=f"link:{link.id}", view=view, action=action,
                          contact_id=contact_id, resident_id=resident_id))


def reply_link(session: Session, key: bytes, message_id: int, email: str, language: str,
               days: int, now: datetime) -> tuple[SecureLink, str]:
    """The link that tells of one reply (made once; a second call returns the same)."""
    token = link_token(key, "reply", str(message_id))
    link = session.scalar(select(SecureLink).where(SecureLink.token_hash == digest(token)))
    if link is None:
        message = session.get(Message, message_id)
        assert message is not None
        link = SecureLink(token_hash=digest(token), kind="reply", email=email,
                          language=language, conversation_id=message.conversation_id,
                          message_id=message_id, created_at=now,
                          expires_at=now + timedelta(days=days))
        session.add(link)
        session.flush()
    return link, token


def compose_link(session: Session, key: bytes, email: str, language: str, now: datetime
                 ) -> SecureLink:
    """A link for an outsider to write to the service; a new one each time asked. Its
    token is derived from its id, so the mail job can write it without carrying it."""
    link = SecureLink(token_hash=secrets.token_hex(32), kind="compose", email=email,
                      language=language, created_at=now,
                      expires_at=now + timedelta(days=COMPOSE_DAYS))
    session.add(link)
    session.flush()
    link.token_hash = digest(compose_token(key, link.id))
    return link


def compose_token(key: bytes, link_id: int) -> str:
    return link_token(key, "compose", str(link_id))


@dataclass(frozen=True)
class LinkState:
    id: int
    kind: str
    email: str
    language: str
    expired: bool
    locked_until: datetime | None
    code_pending: bool  # a code was sent and is still valid
    conversation_id: int | None


def expire_link(session: Session, link: SecureLink) -> None:
    """A link past its expiry: the message it notified of (never opened) is now expired."""
    message = session.get(Message, link.message_id) if link.message_id else None
    if message is not None and message.delivery_state == "notified":
        message.delivery_state = "expired"


def link_state(session: Session, token: str, now: datetime) -> LinkState | None:
    link = session.scalar(select(SecureLink).where(SecureLink.token_hash == digest(token)))
    if link is None:
        return None
    expired = link.expires_at <= now
    if expired:
        expire_link(session, link)
    locked = link.locked_until if link.locked_until and link.locked_until > now else None
    return LinkState(link.id, link.kind, link.email, link.language, expired, locked,
                     bool(link.code_hash and link.code_expires_at
                          and link.code_expires_at > now),
                     link.conversation_id)


class Identification(Protocol):
    """How a resident proves the link is theirs. Now: a code by email; later SMS, Suomi.fi."""

    def start(self, session: Session, link_id: int, now: datetime) -> str: ...

    def verify(self, session: Session, link_id: int, answer: str, now: datetime) -> bool: ...


def mailed_code(key: bytes, link_id: int, expires_at: datetime) -> str:
    """The code of a link's current round: derived, so no queue ever carries it."""
    mac = hmac.new(key, f"code:{link_id}:{expires_at.isoformat()}".encode(), hashlib.sha256)
    return f"{int.from_bytes(mac.digest()[:8], 'big') % 10**6:06d}"


class EmailCode:
    """A six-digit code mailed separately: 15 minutes, five wrong answers lock an hour."""

    def __init__(self, key: bytes):
        self.key = key

    def start(self, session: Session, link_id: int, now: datetime) -> str:
        link = _link(session, link_id)
        if link.locked_until and link.locked_until > now:
            raise Problem(423, "Locked", "too many wrong codes; try again in an hour")
        link.code_expires_at = (now + CODE_LIFETIME).replace(microsecond=0)
        code = mailed_code(self.key, link.id, link.code_expires_at)
        link.code_hash = digest(f"{link.id}:{code}")
        return code

    def verify(self, session: Session, link_id: int, answer: str, now: datetime) -> bool:
        link = _link(session, link_id)
        if link.locked_until and link.locked_until > now:
            return False
        good = bool(link.code_hash and link.code_expires_at and link.code_expires_at > now
                    and hmac.compare_digest(link.code_hash,
                                            digest(f"{link.id}:{answer.strip()}")))
        if good:
            link.code_hash = link.code_expires_at = None  # one time
            link.wrong_codes = 0
            return True
        link.wrong_codes += 1
        _log(session, link, "secure.wrong_code", "refused")
        if link.wrong_codes >= MAX_WRONG_CODES:
            link.locked_until, link.wrong_codes = now + LOCK_TIME, 0
        return False


def _link(session: Session, link_id: int) -> SecureLink:
    link = session.get(SecureLink, link_id)
    if link is None:
        raise Problem(404, "Not found", "no such link")
    return link


def open_conversation(session: Session, link_id: int, now: datetime) -> list[dict[str, Any]]:
    """What the identified resident reads: the whole conversation (logged as an open)."""
    link = _link(session, link_id)
    _log(session, link, "secure.open")
    if link.opened_at is None:
        link.opened_at = now
    if link.conversation_id is None:
        return []
    messages = session.scalars(select(Message).where(
        Message.conversation_id == link.conversation_id).order_by(Message.id)).all()
    for message in messages:
        if message.secure and message.direction == "out" and message.opened_at is None:
            message.opened_at = now
            if message.delivery_state == "notified":
                message.delivery_state = "opened"
                _emit_delivery(session, message)
    return [{"id": m.id, "direction": m.direction, "text": m.text, "at": m.at.isoformat(),
             "sender": m.sender if m.direction == "out" else None,
             "attachments": [a.filename for a in m.attachments]} for m in messages]


def _emit_delivery(session: Session, message: Message) -> None:
    contact = session.scalar(select(Contact).where(
        Contact.conversation_id == message.conversation_id))
    if contact is not None:
        emit(session, {**contact_event("message.delivery", contact), "message_id": message.id,
                       "state": message.delivery_state})


def locked_link(session: Session, link_id: int) -> SecureLink:
    """The link, row-locked for this transaction: two sends at once make one conversation."""
    link = session.scalar(select(SecureLink).where(SecureLink.id == link_id).with_for_update())
    if link is None:
        raise Problem(404, "Not found", "no such link")
    return link


def mark_replied(session: Session, link_id: int, now: datetime, contact_id: int,
                 conversation_id: int) -> None:
    """The resident answered: the link now belongs to that conversation (a compose link's
    first message made it); its secure replies become `replied`."""
    link = _link(session, link_id)
    link.replied_at, link.contact_id = now, contact_id
    link.conversation_id = link.conversation_id or conversation_id
    _log(session, link, "secure.reply", "write")
    if link.conversation_id is not None:
        for message in session.scalars(select(Message).where(
                Message.conversation_id == link.conversation_id, Message.secure.is_(True),
                Message.delivery_state.in_(("notified", "opened")))):
            message.delivery_state = "replied"
            _emit_delivery(session, message)


def now_utc() -> datetime:
    return datetime.now(UTC)
