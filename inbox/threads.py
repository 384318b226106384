"""Mail threads whose parts arrive out of order.

A reply can be routed before the mail it answers (another SMTP connection, another
worker). It then opens a contact of its own and leaves a wait on each Message-ID it
names; when one of those mails arrives from the same resident, it joins that contact's
conversation. Both sides first lock the Message-IDs involved, so the two routings take
turns and one of them always sees the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from inbox.models import ThreadWait


def ref_hash(message_id: str) -> str:
    return hashlib.sha256(message_id.strip().lower().encode()).hexdigest()


def lock_routing(session: Session, message_ids: Iterable[str], email: str | None = None,
                 phone: str | None = None) -> None:
    """Serialise, until this transaction ends, the routings that share a Message-ID (one
    thread) or a sender's address or number (one resident: the second finds the first's
    new resident instead of failing on its identifier).

    PostgreSQL: transaction-scoped advisory locks, all taken at once in one order, so two
    routings never deadlock. SQLite: every writer already holds the database.
    """
    _advisory_locks(session, [m for m in message_ids if m]
                    + [_identifier(kind, value.strip().lower())
                       for kind, value in (("email", email), ("phone", phone)) if value])


def lock_identifiers(session: Session, identifiers: Iterable[tuple[str, str]]) -> None:
    """Serialise the routings that will look up, or add, one resident identifier: two
    contacts from different senders that carry one identity code (a mail and a chat, at
    once) find one resident, where the second used to fail on the identifier's unique
    index. Taken after `lock_routing`'s locks, and in one order, so no two wait on each
    other."""
    _advisory_locks(session, [_identifier(kind, value) for kind, value in identifiers])


def _identifier(kind: str, value: str) -> str:
    """A sender's lock is its identifier's: the lock on a mail's own address is held already
    when its identifiers are locked, which then costs no statement."""
    return f"identifier:{kind}:{value}"


def _advisory_locks(session: Session, names: list[str]) -> None:
    if session.get_bind().dialect.name != "postgresql" or not names:
        return
    held: set[int] = session.info.setdefault("advisory_locks", set())  # this transaction's
    keys = sorted({int.from_bytes(bytes.fromhex(ref_hash(n))[:8], "big", signed=True)
                   for n in names} - held)
    if not keys:
        return
    held.update(keys)
    # One round trip: a function scan of the array yields its keys in their order.
    session.execute(_LOCK_ALL, {"keys": keys}).all()


_LOCK_ALL = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS t(k)")


def wait_for_parents(session: Session, contact_id: int, message_ids: Iterable[str]) -> None:
    """This contact answers mails not seen yet: let each of them find it."""
    for message_id in dict.fromkeys(message_ids):
        session.add(ThreadWait(ref_hash=ref_hash(message_id), contact_id=contact_id))


def contacts_awaiting(session: Session, message_id: str | None) -> list[int]:
    """The contacts whose mail answered this Message-ID before it arrived, oldest first."""
    if not message_id:
        return []
    return list(session.scalars(
        select(ThreadWait.contact_id).where(ThreadWait.ref_hash == ref_hash(message_id))
        .order_by(ThreadWait.id)))


def parent_arrived(session: Session, message_id: str) -> None:
    session.execute(delete(ThreadWait).where(ThreadWait.ref_hash == ref_hash(message_id)))
