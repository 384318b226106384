"""Browser sessions and API tokens of staff: how long they live and what ends them.

A session ends after `session_idle` without a request and at `session_max` after the login
whatever happens; a token has a name, expires (90 days by default) and can be revoked. A
disabled account's sessions and tokens stop on their next request: every check reads the
staff row. Times are the wall clock (the service's test clock moves opening hours, not
logins). Cookie and token values are stored as SHA-256 digests only.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from inbox.access import Principal
from inbox.errors import Problem, bad_request, not_found
from inbox.models import ApiToken, Staff, StaffSession

TOKEN_MAX_DAYS = 365  # the longest an API token lives, however it is made
PENDING_LIFETIME = timedelta(minutes=10)  # from the password to the second factor
SEEN_EVERY = timedelta(minutes=1)  # last-seen/last-used times are written at most this often


@dataclass(frozen=True)
class AccountRules:
    session_idle: timedelta = timedelta(minutes=30)
    session_max: timedelta = timedelta(hours=10)
    token_days: int = 90
    account_failures: int = 5  # wrong passwords or codes for one account in `lock_window`
    address_failures: int = 20  # ... or from one address
    lock_window: timedelta = timedelta(minutes=15)
    # `yhteys demo`'s accounts log in without a second factor only on the embedded default
    # (SQLite, a laptop's trial): a flag in a shared database's staff row opens nothing.
    demo_logins: bool = False


DEFAULT_RULES = AccountRules()

def _now() -> datetime:
    return datetime.now(UTC)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# A request's check of its token or cookie reads the staff member's areas in the same
# query (a join), not in a second one as the relationship's own selectin load would.
_WITH_AREAS = joinedload(Staff.areas)


def principal_of(staff: Staff) -> Principal:
    return Principal(staff.id, staff.email, staff.name, staff.role, tuple(staff.area_codes),
                     staff.available, staff.ui_language)


def staff_by_email(session: Session, email: str) -> Staff:
    """The staff member an operator or a login names by email (any case, spaces around);
    a 400 problem when there is none."""
    staff = session.scalar(select(Staff).where(Staff.email == email.strip().lower()))
    if staff is None:
        raise bad_request(f"no staff member {email}")
    return staff


# --- API tokens -------------------------------------------------------------------------

def create_token(session: Session, email: str, name: str = "",
                 days: int = DEFAULT_RULES.token_days) -> str:
    """A new bearer token; only its digest is kept, so this is the one time it is seen."""
    if not 1 <= days <= TOKEN_MAX_DAYS:
        raise bad_request(f"a token lives 1 to {TOKEN_MAX_DAYS} days")
    staff = staff_by_email(session, email)
    token = "yht_" + secrets.token_urlsafe(32)
    session.add(ApiToken(staff_id=staff.id, token_hash=digest(token), name=name.strip()[:100],
                         expires_at=_now() + timedelta(days=days)))
    session.flush()
    return token


def token_rows(session: Session, staff_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(ApiToken).where(ApiToken.staff_id == staff_id)
                           .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    now = _now()
    return [{"id": t.id, "name": t.name, "created_at": t.created_at,
             "expires_at": t.expires_at, "last_used_at": t.last_used_at,
             "revoked_at": t.revoked_at,
             "state": ("revoked" if t.revoked_at else
                       "expired" if t.expires_at and t.expires_at <= now else "active")}
            for t in rows]


def list_tokens(session: Session, email: str) -> list[dict[str, Any]]:
    return token_rows(session, staff_by_email(session, email).id)


def revoke_token(session: Session, token_id: int, staff_id: int | None = None) -> None:
    """Revoke a token (the operator: any; a staff member: only their own, else 404)."""
    token = session.get(ApiToken, token_id)
    if token is None or (staff_id is not None and token.staff_id != staff_id):
        raise not_found(f"token {token_id}")
    token.revoked_at = token.revoked_at or _now()


def token_check(session: Session, token: str) -> Principal | str:
    """The token's staff member, or why not: a problem code (token.unknown, token.revoked,
    token.expired, account.disabled)."""
    found = session.execute(select(ApiToken, Staff).join(Staff, Staff.id == ApiToken.staff_id)
                            .where(ApiToken.token_hash == digest(token))
                            .options(_WITH_AREAS)).unique().first()
    if found is None:
        return "token.unknown"
    row, staff = found
    now = _now()
    if row.revoked_at is not None:
        return "token.revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "token.expired"
    if staff.disabled_at is not None:
        return "account.disabled"
    if row.last_used_at is None or now - row.last_used_at > SEEN_EVERY:
        row.last_used_at = now
    return principal_of(staff)


def principal_for_token(session: Session, token: str) -> Principal | None:
    found = token_check(session, token)
    return found if isinstance(found, Principal) else None


TOKEN_PROBLEMS = {
    "token.unknown": "the bearer token is not valid",
    "token.revoked": "the bearer token was revoked: make a new one",
    "token.expired": "the bearer token has expired: make a new one",
    "account.disabled": "this staff account is disabled",
}


def token_problem(code: str) -> Problem:
    return Problem(401, "Authentication required", TOKEN_PROBLEMS[code], code=code)


# --- browser sessions -------------------------------------------------------------------

def begin_login(session: Session, staff_id: int, stage: str, next_path: str,
                language: str | None, pending_secret: bytes | None = None) -> str:
    """The password was right: a pending login ("code" or "enrol") for the second step."""
    token, now = secrets.token_urlsafe(32), _now()
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now))  # tidy as we go
    session.add(StaffSession(staff_id=staff_id, token_hash=digest(token),
                             csrf_token=secrets.token_urlsafe(32), expires_at=now
                             + PENDING_LIFETIME, stage=stage, pending_secret=pending_secret,
                             next_path=next_path[:500], language=language))
    return token


def pending_login(session: Session, token: str) -> StaffSession | None:
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == digest(token),
                                                    StaffSession.stage != "live",
                                                    StaffSession.expires_at > _now()))
    if row is None:
        return None
    staff = session.get(Staff, row.staff_id)
    return row if staff is not None and staff.disabled_at is None else None


def open_session(session: Session, who: Principal, rules: AccountRules = DEFAULT_RULES,
                 pending: str | None = None) -> tuple[str, str]:
    """A live session (a new cookie value, so a pending one cannot be fixed on anyone):
    returns (cookie value, CSRF token)."""
    token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), _now()
    if pending is not None:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == digest(pending)))
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
    session.add(StaffSession(staff_id=who.staff_id, token_hash=digest(token), csrf_token=csrf,
                             created_at=now, expires_at=now + rules.session_max,
                             last_seen_at=now, stage="live"))
    return token, csrf


def session_check(session: Session, token: str, rules: AccountRules = DEFAULT_RULES
                  ) -> tuple[Principal, str] | str | None:
    """(staff member, CSRF token) of a live session; why it ended ("idle", "expired",
    "disabled"; the row goes); None for a cookie that names no session."""
    found = session.execute(select(StaffSession, Staff)
                            .join(Staff, Staff.id == StaffSession.staff_id)
                            .where(StaffSession.token_hash == digest(token),
                                   StaffSession.stage == "live")
                            .options(_WITH_AREAS)).unique().first()
    if found is None:
        return None
    row, staff = found
    now = _now()
    seen = row.last_seen_at or row.created_at
    ended = ("disabled" if staff.disabled_at is not None else
             "expired" if row.expires_at <= now else
             "idle" if now - seen >= rules.session_idle else None)
    if ended is not None:
        session.delete(row)
        return ended
    if now - seen > SEEN_EVERY:
        row.last_seen_at = now
    return principal_of(staff), row.csrf_token


def principal_for_session(session: Session, token: str, rules: AccountRules = DEFAULT_RULES
                          ) -> tuple[Principal, str] | None:
    found = session_check(session, token, rules)
    return found if isinstance(found, tuple) else None


def close_session(session: Session, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == digest(token)))


def end_sessions(session: Session, staff_id: int) -> None:
    session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
