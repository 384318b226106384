"""The raw inbound store: bytes as received, written before the sender hears "accepted"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from inbox.access import Principal
from inbox.crypto import ATTACHMENT_BYTES as ATTACHMENT
from inbox.crypto import RAW_BYTES as RAW
from inbox.errors import Problem
from inbox.models import AccessLog, Attachment, RawInbound
from inbox.store import emit, sealer_of

RAW_TABLE = cast(Table, RawInbound.__table__)


def process_job_id(raw_ids: list[int]) -> str:
    """The routing job of these stored mails: one mail's is `email-process-<id>` (what the
    sweeps look for), a batch's is named by its first mail and how many follow."""
    first = raw_ids[0]
    return f"email-process-{first}" if len(raw_ids) == 1 \
        else f"email-process-{first}-and-{len(raw_ids) - 1}"


def store_raw(
    session: Session, channel: str, key: str, envelope: dict[str, Any], data: bytes
) -> tuple[int, bool]:
    """(id, created): a redelivery with the same idempotency key returns the first row."""
    return store_raws(session, channel, [(key, envelope, data)])[0]


def store_raws(session: Session, channel: str,
               mails: list[tuple[str, dict[str, Any], bytes]]) -> list[tuple[int, bool]]:
    """(id, created) of each input, in one transaction (the SMTP listener's group commit:
    one commit, one fsync for all). One INSERT … ON CONFLICT DO NOTHING of all the rows, on
    the table rather than the entity (no ORM unit of work on the edge's hot path), its
    form compiled once; two concurrent redeliveries cannot both insert, and the same key
    twice in one batch is stored once (the first is the one created)."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite_insert
    sealer = sealer_of(session)  # personal data: never at rest in clear
    firsts: dict[str, tuple[dict[str, Any], bytes]] = {}
    for key, envelope, data in mails:  # in arrival order, so ids follow it
        firsts.setdefault(key, (envelope, data))
    created: dict[str, int] = dict(session.connection().execute(  # Core: no ORM layer
        insert(RAW_TABLE)
        .on_conflict_do_nothing(index_elements=[RAW_TABLE.c.idempotency_key])
        .returning(RAW_TABLE.c.idempotency_key, RAW_TABLE.c.id),
        [{"channel": channel, "idempotency_key": key, "envelope": envelope,
          "data": sealer.seal(data, RAW)} for key, (envelope, data) in firsts.items()]).all())
    ids = dict(created)
    if len(ids) < len(firsts):  # redeliveries of mail stored before
        ids.update(session.execute(select(RawInbound.idempotency_key, RawInbound.id).where(
            RawInbound.idempotency_key.in_(set(firsts) - set(ids)))).all())
    results = []
    for key, _envelope, _data in mails:
        results.append((ids[key], key in created))
        created.pop(key, None)  # a second copy in this batch was not created
    return results


@dataclass(frozen=True)
class RawCopy:
    """A stored input waiting to be routed, its bytes opened, for the job that parses it."""

    id: int
    idempotency_key: str
    envelope: dict[str, Any]
    received_at: datetime
    data: bytes


def load_raws(session: Session, raw_ids: Iterable[int]) -> list[RawCopy]:
    """The stored inputs of these ids still waiting to be routed, in id order, in one read
    (a job routes what one group commit stored)."""
    sealer = sealer_of(session)
    rows = session.execute(
        select(RAW_TABLE.c.id, RAW_TABLE.c.idempotency_key, RAW_TABLE.c.envelope,
               RAW_TABLE.c.received_at, RAW_TABLE.c.data)
        .where(RAW_TABLE.c.id.in_(set(raw_ids)), RAW_TABLE.c.state == "stored")
        .order_by(RAW_TABLE.c.id))
    return [RawCopy(raw_id, key, dict(envelope or {}), received_at,
                    sealer.open(data, RAW))
            for raw_id, key, envelope, received_at, data in rows]


def seal_legacy(session: Session, batch: int = 500) -> int:
    """On start: seal raw inputs and attachments stored before sealing existed, or under a
    retired key (rotation). Returns how many were (re)sealed."""
    sealer = sealer_of(session)
    done = 0
    for model, purpose in ((RawInbound, RAW), (Attachment, ATTACHMENT)):
        rows: Iterable[RawInbound | Attachment] = session.scalars(
            select(model).execution_options(yield_per=batch))
        for row in rows:
            if not sealer.is_current(row.data):
                row.data = sealer.seal(sealer.open(row.data, purpose), purpose)
                done += 1
    return done


def mark_unparseable(session: Session, raw_id: int, error: str) -> None:
    """Kept for manual handling: the raw bytes stay, the reason is shown."""
    raw = session.get(RawInbound, raw_id)
    if raw is not None:
        raw.state, raw.error = "failed", error[:2000]
        emit(session, {"type": "raw.failed", "raw_id": raw_id, "area": None,
                       "assignee_id": None})


def unparsed(session: Session, who: Principal) -> list[dict[str, Any]]:
    """Mail kept for manual handling: leads and admins only (it is unrouted, so no area
    says who else may read it); each listing is access-logged."""
    _lead_only(who)
    rows = session.scalars(
        select(RawInbound).where(RawInbound.state == "failed").order_by(RawInbound.id.desc())
    )
    session.add(AccessLog(staff_id=who.staff_id, view="api.unparsed", action="read"))
    return [{"id": r.id, "channel": r.channel, "error": r.error, "envelope": r.envelope,
             "received_at": r.received_at.isoformat()} for r in rows]


def _lead_only(who: Principal) -> None:
    if not who.sees_all_areas:
        raise Problem(403, "Leads only", "mail kept for manual handling is for leads and admins")


def retry_raw(session: Session, who: Principal, raw_id: int) -> int:
    """Put a mail kept for manual handling back in line (after a fix, or a passing outage)."""
    _lead_only(who)
    raw = session.get(RawInbound, raw_id)
    if raw is None or raw.state != "failed":
        raise Problem(404, "Not found", f"no mail {raw_id} is waiting for manual handling")
    raw.state, raw.error = "stored", None
    session.add(AccessLog(staff_id=who.staff_id, view="api.unparsed.retry", action="write"))
    return raw.id


def waiting_raw(session: Session, stored_before: datetime | None = None) -> list[int]:
    """Stored but not yet processed (a crash, a lost job, a queue that was down, a worker
    killed mid-route): to be queued again on start, and by the timer once they have waited
    `stored_before`. A mail whose routing transaction is under way holds its row
    (`claim_raw`) and is skipped: somebody is routing it right now."""
    query = select(RawInbound.id).where(RawInbound.state == "stored")
    if stored_before is not None:
        query = query.where(RawInbound.received_at < stored_before)
    return list(session.scalars(query.order_by(RawInbound.id)
                                .with_for_update(skip_locked=True)))


def claim_raw(session: Session, raw_id: int) -> bool:
    """The routing transaction's claim on a stored mail. Its row stays locked until the
    commit, so of two jobs for one mail (one re-queued by the timer, one retried) the
    second waits, then sees it routed and does nothing: one mail, one contact."""
    state = session.scalar(select(RawInbound.state).where(RawInbound.id == raw_id)
                           .with_for_update())
    return state == "stored"
