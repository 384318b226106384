"""Staff accounts: who they are, passwords (argon2), and the operator's changes (disable,
enable, role). Sessions and tokens are inbox/accounts.py's, the second factor inbox/totp.py's."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.access import Principal, log_access
from inbox.accounts import close_session as close_session
from inbox.accounts import create_token as create_token
from inbox.accounts import end_sessions, staff_by_email
from inbox.accounts import open_session as open_session
from inbox.accounts import principal_for_session as principal_for_session
from inbox.accounts import principal_for_token as principal_for_token
from inbox.accounts import principal_of as principal_of
from inbox.errors import Problem, bad_request, not_found
from inbox.models import Area, Staff, StaffArea
from inbox.roles import ROLES, can
from inbox.store import Store
from inbox.totp import reset_second_factor

_hasher = PasswordHasher()
UI_LANGUAGES = ("fi", "sv", "en")  # the counsellor UI's languages


@functools.cache
def _dummy_hash() -> str:
    """Verifying against a real hash when the account is unknown keeps timing uniform."""
    return _hasher.hash(secrets.token_hex(8))


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
    staff = staff_by_email(session, email)
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
    staff_by_email(session, email).password_hash = _hasher.hash(password)


@dataclass(frozen=True)
class Account:
    """Who a right password belongs to, and what the login asks of them next."""

    who: Principal
    demo: bool  # `yhteys demo`'s accounts: no second factor (on SQLite only: AccountRules)
    enrolled: bool  # has a TOTP secret
    disabled: bool


def _account(session: Session, email: str) -> tuple[Account, str] | None:
    try:
        staff = staff_by_email(session, email)
    except Problem:
        return None
    if staff.password_hash is None:
        return None
    return Account(principal_of(staff), staff.demo, staff.totp_secret is not None,
                   staff.disabled_at is not None), staff.password_hash


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


def check_password(store: Store, email: str, password: str) -> Account | None:
    """The deliberately slow hash check runs outside any transaction, holding no lock."""
    account = store.run(_account, email)
    try:
        _hasher.verify(account[1] if account else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return account[0] if account else None


def staff_directory(session: Session) -> list[dict[str, object]]:
    """Everyone a contact can be handed to (who works contacts and is not disabled: no
    auditor): names, roles, areas, whether they are in."""
    staff = session.scalars(select(Staff).where(Staff.disabled_at.is_(None))
                            .order_by(Staff.name, Staff.id)).all()
    return [{"id": s.id, "name": s.name, "role": s.role, "areas": s.area_codes,
             "available": s.available} for s in staff if can(s.role, "work")]


def staff_id_of(session: Session, email: str) -> int:
    return staff_by_email(session, email).id


def account_row(s: Staff) -> dict[str, Any]:
    """An account and the state of its login (the operator's list, the admin's page)."""
    return {"id": s.id, "email": s.email, "name": s.name, "role": s.role,
            "areas": s.area_codes,
            "second_factor": "demo" if s.demo else "yes" if s.totp_secret else "no",
            "enrolled": s.totp_secret is not None, "demo": s.demo,
            "disabled": s.disabled_at is not None}


def list_staff(session: Session) -> list[dict[str, Any]]:
    """The operator's view: every account and the state of its login."""
    return [account_row(s) for s in session.scalars(select(Staff).order_by(Staff.email))]


def set_disabled(session: Session, email: str, disabled: bool) -> Staff:
    """Disable (sessions end now; tokens and logins are refused while it lasts) or enable."""
    staff = staff_by_email(session, email)
    if disabled:
        staff.disabled_at = staff.disabled_at or datetime.now(UTC)
        end_sessions(session, staff.id)
    else:
        staff.disabled_at = None
    return staff


def set_role(session: Session, email: str, role: str) -> Staff:
    if role not in ROLES:
        raise bad_request(f"role must be one of {', '.join(ROLES)}")
    staff = staff_by_email(session, email)
    staff.role = role
    return staff


def mark_demo(session: Session, email: str) -> None:
    """Only `yhteys demo` calls this (on SQLite only): these accounts log in without a
    second factor where the app runs on the embedded default (AccountRules.demo_logins)."""
    staff_by_email(session, email).demo = True


def demo_accounts_exist(session: Session) -> bool:
    return session.scalar(select(Staff.id).where(Staff.demo.is_(True)).limit(1)) is not None


def admin_only(who: Principal) -> None:
    if not who.can("admin"):
        raise Problem(403, "Forbidden", "only an admin manages staff accounts",
                      code="admin.only")


def accounts(session: Session, who: Principal) -> list[dict[str, Any]]:
    admin_only(who)
    return sorted(list_staff(session), key=lambda row: (row["name"].casefold(), row["id"]))


def change_account(session: Session, who: Principal, staff_id: int, change: str,
                   role: str = "") -> dict[str, Any]:
    """One admin's change to one account, logged; refused when it would lock them out."""
    admin_only(who)
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise not_found(f"staff member {staff_id}")
    if change in ("disable", "enable"):
        set_disabled(session, staff.email, change == "disable")
    elif change == "role":
        set_role(session, staff.email, role)  # an unknown role: 400
    elif change == "reset":
        reset_second_factor(session, staff.id)
    else:  # never a default: a misspelt change must not reset anyone's second factor
        raise bad_request(f"unknown change {change!r}: disable, enable, role or reset")
    if staff.id == who.staff_id and (staff.disabled_at is not None
                                     or not can(staff.role, "admin")):
        raise bad_request("an admin cannot disable themself or take away their own admin "
                          "role: ask another admin", "Refused", code="staff.self_lockout")
    detail = f":{staff.role}" if change == "role" else ""
    log_access(session, who, f"admin.staff.{change}:{staff.id}{detail}", action="write")
    return account_row(staff)
