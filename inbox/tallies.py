"""Counts an operator watches (Prometheus scrapes them): how much work there is and what
state replies are in. Aggregates only, nothing about anyone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import Contact, Message


def _grouped(session: Session, column: Any, *where: Any) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).where(*where).group_by(column))
    return {str(key): int(count) for key, count in rows}


def tallies(session: Session) -> dict[str, dict[str, int]]:
    return {
        "contacts_by_channel": _grouped(session, Contact.channel),
        "contacts_by_status": _grouped(session, Contact.status),
        "replies_by_delivery": _grouped(session, Message.delivery_state,
                                        Message.direction == "out",
                                        Message.delivery_state.is_not(None)),
    }
