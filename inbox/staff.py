"""Staff accounts, passwords (argon2), API tokens and browser sessions."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from inbox.access import Principal
from inbox.errors import Problem, bad_request
from inbox.models import ApiToken, Area, Staff, StaffArea, StaffSession
from inbox.roles import ROLES
from inbox.store import Store

_hasher = PasswordHasher()
SESSION_LIFETIME = timedelta(hours=10)
UI_LANGUAGES = ("fi", "sv", "en")  # the counsellor UI's languages


@functools.cache
def _dummy_hash() -> str:
    """Verifying against a real hash when the account is unknown keeps timing uniform."""
    return _hasher.hash(secrets.token_hex(8))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_of(staff: Staff) -> Principal:
    return Principal(staff.id, staff.email, staff.name, staff.role, tuple(staff.area_codes),
                     staff.available, staff.ui_language)


def add_staff(
    session: Session,
    email: str,
    name: str,
    areas: list[str],
    role: str = "counsellor",
    password: str | None = None,
    languages: list[str] | None = None,
) -> Staff:
    email = email.strip().lower()
    if role not in ROLES:
        raise bad_request(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email:
        raise bad_request(f"{email!r} is not an email address")
    known = set(session.scalars(select(Area.code).where(Area.code.in_(areas))))
    unknown = sorted(set(areas) - known)
    if unknown:
        raise bad_request(f"unknown area code(s): {', '.join(unknown)}")
    if session.scalar(select(Staff.id).where(Staff.email == email)) is not None:
        raise Problem(409, "Conflict", f"staff {email} exists already")
    staff = Staff(
        email=email,
        name=name,
        role=role,
        password_hash=_hasher.hash(password) if password else None,
        languages=languages or ["fi"],
        areas=[StaffArea(area_code=code) for code in areas],
    )
    session.add(staff)
    session.flush()
    return staff


def set_desk_phone(session: Session, email: str, phone: str | None, extension: str | None
                   ) -> Staff:
    """The counsellor's desk phone as the phone system names it (E.164 and/or extension):
    calls ringing there pop up in their inbox, calls they answer are logged as theirs."""
    staff = session.scalar(select(Staff).where(Staff.email == email.strip().lower()))
    if staff is None:
        raise Problem(404, "Not found", f"no staff {email}")
    if extension is not None and not (extension.isascii() and extension.isdigit()
                                      and 0 < len(extension) <= 16):
        raise bad_request("extension must be 1 to 16 digits")
    for column, value in ((Staff.phone, phone), (Staff.extension, extension)):
        other = session.scalar(select(Staff.email).where(column == value, Staff.id != staff.id)
                               ) if value else None
        if other is not None:
            raise Problem(409, "Conflict", f"{value} is {other}'s desk phone already")
    staff.phone, staff.extension = phone or None, extension or None
    session.flush()
    return staff


def set_password(session: Session, email: str, password: str) -> None:
    staff = session.scalar(select(Staff).where(Staff.email == email.strip().lower()))
    if staff is None:
        raise bad_request(f"no staff member {email}")
    staff.password_hash = _hasher.hash(password)


def _account(session: Session, email: str) -> tuple[Principal, str] | None:
    staff = session.scalar(select(Staff).where(Staff.email == email.strip().lower()))
    if staff is None or staff.password_hash is None:
        return None
    return principal_of(staff), staff.password_hash


def set_availability(session: Session, who: Principal, available: bool) -> None:
    """Away (holiday, sick leave): new contacts go to the area's other counsellors."""
    staff = session.get(Staff, who.staff_id)
    if staff is not None:
        staff.available = available


def set_ui_language(session: Session, who: Principal, language: str) -> None:
    """The language the counsellor UI speaks to them from now on, in every session."""
    if language not in UI_LANGUAGES:
        raise bad_request(f"language must be one of {', '.join(UI_LANGUAGES)}")
    staff = session.get(Staff, who.staff_id)
    if staff is not None:
        staff.ui_language = language


def check_password(store: Store, email: str, password: str) -> Principal | None:
    """The deliberately slow hash check runs outside any transaction, holding no lock."""
    account = store.run(_account, email)
    try:
        _hasher.verify(account[1] if account else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return account[0] if account else None


def create_token(session: Session, email: str) -> str:
    staff = session.scalar(select(Staff).where(Staff.email == email.strip().lower()))
    if staff is None:
        raise bad_request(f"no staff member {email}")
    token = "yht_" + secrets.token_urlsafe(32)
    session.add(ApiToken(staff_id=staff.id, token_hash=_digest(token)))
    return token


def principal_for_token(session: Session, token: str) -> Principal | None:
    staff = session.scalar(
        select(Staff).join(ApiToken, ApiToken.staff_id == Staff.id)
        .where(ApiToken.token_hash == _digest(token))
    )
    return principal_of(staff) if staff else None


def open_session(session: Session, who: Principal) -> tuple[str, str]:
    """A new browser session: returns (cookie value, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now))  # tidy as we go
    session.add(
        StaffSession(
            staff_id=who.staff_id,
            token_hash=_digest(token),
            csrf_token=csrf,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return token, csrf


def principal_for_session(session: Session, token: str) -> tuple[Principal, str] | None:
    """The staff member and CSRF token of a live session cookie."""
    row = session.execute(
        select(Staff, StaffSession.csrf_token)
        .join(StaffSession, StaffSession.staff_id == Staff.id)
        .where(StaffSession.token_hash == _digest(token))
        .where(StaffSession.expires_at > datetime.now(UTC))
    ).first()
    return (principal_of(row[0]), row[1]) if row else None


def close_session(session: Session, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))


def staff_directory(session: Session) -> list[dict[str, object]]:
    """Everyone a contact can be handed to: names, roles, areas, whether they are in."""
    staff = session.scalars(select(Staff).order_by(Staff.name, Staff.id)).all()
    return [{"id": s.id, "name": s.name, "role": s.role, "areas": s.area_codes,
             "available": s.available} for s in staff]
