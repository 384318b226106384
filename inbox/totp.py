"""The staff login's second factor: TOTP (RFC 6238, pyotp) with one-time recovery codes.

The secret is sealed at rest (inbox/crypto.py, like residents' bytes). A code is accepted
for its 30-second step or one either side, and never for a step at or before the last one
accepted: a code seen over a shoulder or replayed from a log is refused. Ten recovery codes
are shown once at enrolment and kept as argon2 hashes; each works once.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any, cast

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, Update, delete, or_, select, update
from sqlalchemy.orm import Session

from inbox.accounts import end_sessions, staff_by_email
from inbox.errors import bad_request
from inbox.models import RecoveryCode, Staff
from inbox.store import sealer_of

ISSUER = "Yhteys"
PURPOSE = b"staff.totp"
RECOVERY_COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
# Recovery codes carry ~50 random bits: a light argon2 is plenty and keeps ten checks quick.
_recovery_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def new_secret() -> str:
    return pyotp.random_base32()


def seal_secret(session: Session, secret: str) -> bytes:
    return sealer_of(session).seal(secret.encode(), PURPOSE)


def open_secret(session: Session, sealed: bytes) -> str:
    return sealer_of(session).open(sealed, PURPOSE).decode()


def qr_svg(secret: str, email: str) -> str:
    """The enrolment QR code as inline SVG markup (no image source for the CSP to allow);
    the page around it names it."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    svg: str = segno.make(uri, error="m").svg_inline(scale=5, border=3, light="#fff",
                                                      svgclass="qr")
    return svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)


def grouped(secret: str) -> str:
    """The secret as one types it into an app: groups of four."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _matching_step(secret: str, code: str, now: float) -> int | None:
    totp, step = pyotp.TOTP(secret), int(now // 30)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.at(candidate * 30), code):
            return candidate
    return None


def _digits(code: str) -> str:
    return "".join(code.split())


def _changed_one(session: Session, statement: Update) -> bool:
    """Run a conditional UPDATE: whether it found its row still as the condition says."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return cast(CursorResult[Any], result).rowcount == 1


def check_code(session: Session, staff_id: int, code: str) -> str:
    """"ok", "replayed" (a code already used in its window) or "wrong"; a recovery code
    (letters) is tried when the input is not six digits."""
    staff = session.get(Staff, staff_id)
    if staff is None or staff.totp_secret is None:
        return "wrong"
    code = _digits(code)
    if not (len(code) == 6 and code.isdigit()):
        return "ok" if _use_recovery(session, staff_id, code) else "wrong"
    step = _matching_step(open_secret(session, staff.totp_secret), code, time.time())
    if step is None:
        return "wrong"
    # One conditional UPDATE takes the step: of two logins sending the same code at once,
    # only one finds it still unused (a read, then a write, would let both through).
    if not _changed_one(session, update(Staff).where(
            Staff.id == staff_id,
            or_(Staff.totp_last_step.is_(None), Staff.totp_last_step < step))
            .values(totp_last_step=step)):
        return "replayed"
    return "ok"


def _normal_recovery(code: str) -> str:
    return code.lower().replace("-", "").replace(" ", "")


def _use_recovery(session: Session, staff_id: int, code: str) -> bool:
    code = _normal_recovery(code)
    if len(code) != 10:
        return False
    for row in session.scalars(select(RecoveryCode).where(RecoveryCode.staff_id == staff_id,
                                                          RecoveryCode.used_at.is_(None))
                               ).all():
        try:
            _recovery_hasher.verify(row.code_hash, code)
        except (VerificationError, InvalidHashError):
            continue
        # Used up only if still unused now: a concurrent login with the same code loses.
        return _changed_one(session, update(RecoveryCode).where(
            RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
            .values(used_at=datetime.now(UTC)))
    return False


def enrol(session: Session, staff_id: int, sealed_secret: bytes, code: str) -> list[str] | None:
    """The first code proves the app holds the secret: it becomes the staff member's, with
    new recovery codes (returned, shown once). None when the code is wrong."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        return None
    step = _matching_step(open_secret(session, sealed_secret), _digits(code), time.time())
    if step is None:
        return None
    staff.totp_secret, staff.totp_last_step = sealed_secret, step
    return _new_recovery_codes(session, staff_id)


def _new_recovery_codes(session: Session, staff_id: int) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff_id))
    codes = ["".join(secrets.choice(_ALPHABET) for _ in range(10))
             for _ in range(RECOVERY_COUNT)]
    session.add_all([RecoveryCode(staff_id=staff_id, code_hash=_recovery_hasher.hash(c))
                     for c in codes])
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def set_secret(session: Session, email: str, secret: str) -> None:
    """Enrol a known secret directly (the operator's tooling and the tests' helpers)."""
    staff = staff_by_email(session, email)
    staff.totp_secret, staff.totp_last_step = seal_secret(session, secret), None


def reset_second_factor(session: Session, staff_id: int) -> None:
    """An admin's reset: the secret and recovery codes go, and so do the staff member's
    sessions; their next login enrols a new authenticator."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise bad_request(f"no staff member {staff_id}")
    staff.totp_secret, staff.totp_last_step = None, None
    session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff_id))
    end_sessions(session, staff_id)

