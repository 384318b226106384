"""The IMAP checkpoint: which messages of a mailbox are already stored.

An IMAP message is named by (UIDVALIDITY, UID); UIDs only grow while UIDVALIDITY stays.
So per mailbox one row says "every UID up to `last_uid` under `uidvalidity` is stored", and
a poller asks the server only for UIDs above it. The `\\Seen` flag decides nothing: another
client may set or clear it at any time.

`advance` is meant to run in the transaction that stores the raw mail, so the checkpoint is
never ahead of what is durable: a crash mid-round fetches again, the raw store's idempotency
key recognises what was already stored, and nothing is skipped. Several pollers on one
mailbox (N serve processes) are harmless: both writes only move forward.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from inbox.models import ImapCheckpoint, utcnow


def mailbox_key(host: str, user: str, folder: str) -> str:
    """The checkpoint's name for a mailbox: host/user/folder (host case-insensitive)."""
    return f"{host.lower()}/{user}/{folder}"


@dataclass(frozen=True)
class Resume:
    last_uid: int  # fetch UIDs above this one
    previous_uidvalidity: int | None  # set when the folder was recreated: starting over


def resume(session: Session, mailbox: str, uidvalidity: int) -> Resume:
    """Where to go on in `mailbox`, whose SELECT just said `uidvalidity`.

    A mailbox seen for the first time, or one whose UIDVALIDITY changed (the folder was
    deleted and recreated, or rebuilt by the server), starts over from UID 0.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(ImapCheckpoint)
        .values(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=[ImapCheckpoint.mailbox])
    )
    row = session.scalars(
        select(ImapCheckpoint).where(ImapCheckpoint.mailbox == mailbox).with_for_update()
    ).one()
    if row.uidvalidity == uidvalidity:
        return Resume(row.last_uid, None)
    previous = row.uidvalidity
    row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, 0, utcnow()
    return Resume(0, previous)


def advance(session: Session, mailbox: str, uidvalidity: int, uid: int) -> bool:
    """Record that `uid` (and every UID below it) is stored; only ever moves forward, and
    only under the same UIDVALIDITY. True if the checkpoint moved."""
    moved = session.execute(
        update(ImapCheckpoint)
        .where(ImapCheckpoint.mailbox == mailbox, ImapCheckpoint.uidvalidity == uidvalidity,
               ImapCheckpoint.last_uid < uid)
        .values(last_uid=uid, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def checkpoint(session: Session, mailbox: str) -> tuple[int, int] | None:
    """(uidvalidity, last_uid) of `mailbox`, or None before its first round."""
    row = session.scalars(select(ImapCheckpoint).where(ImapCheckpoint.mailbox == mailbox)).first()
    return None if row is None else (row.uidvalidity, row.last_uid)
