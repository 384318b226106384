"""The login throttle: failed steps (a wrong password, a wrong second-factor code) are rows
in the database, so a lock holds across processes and restarts. An account is locked after
`account_failures` within `lock_window`, an address after `address_failures`; a lock lasts
until the oldest failure that makes it falls out of the window. A login that succeeds
clears its account's failures (not its address's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from inbox.accounts import AccountRules
from inbox.models import LoginFailure


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()[:250]


def address_key(address: str) -> str:
    return "address:" + address[:250]


def _lock_left(session: Session, key: str, limit: int, window: timedelta, now: datetime
               ) -> timedelta | None:
    times = list(session.scalars(select(LoginFailure.at).where(
        LoginFailure.key == key, LoginFailure.at > now - window)
        .order_by(LoginFailure.at.desc()).limit(limit)))
    if len(times) < limit:
        return None
    return times[-1] + window - now


def locked(session: Session, email: str, address: str, rules: AccountRules
           ) -> tuple[str, timedelta] | None:
    """("account" | "address", how long yet) when this login may not be tried now."""
    now = datetime.now(UTC)
    for kind, key, limit in (("address", address_key(address), rules.address_failures),
                             ("account", account_key(email), rules.account_failures)):
        left = _lock_left(session, key, limit, rules.lock_window, now)
        if left is not None:
            return kind, left
    return None


def record_failure(session: Session, email: str, address: str, rules: AccountRules) -> None:
    now = datetime.now(UTC)
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - rules.lock_window))
    session.add_all([LoginFailure(key=account_key(email), at=now),
                     LoginFailure(key=address_key(address), at=now)])


def clear_failures(session: Session, email: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key == account_key(email)))
