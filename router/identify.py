"""identify: who is this? Resident by phone (E.164), email, chat token or identity code."""

from __future__ import annotations

import re
from email.utils import parseaddr

import phonenumbers

from inbox.identity import (  # noqa: F401  (re-exported: the router's vocabulary)
    HETU_PLACEHOLDER,
    find_identity_codes,
    hetu_digest,
    redact_identity_codes,
)
from inbox.lookups import resident_by_identifiers, resident_visible
from inbox.models import Resident
from inbox.threads import lock_identifiers
from router.context import Context


class InvalidPhone(ValueError):
    """Why a number will not do: `code` (phone.required, phone.too_short, phone.too_long,
    phone.invalid, phone.foreign_needs_plus) for the reader's sentence, and English words."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


_PHONE_CHARS = re.compile(r"[0-9+\-\s().\/]+")


def normalise_phone(raw: str, region: str = "FI") -> str:
    """E.164 from any way a Finn writes a number (040 123 4567, +358 40 123 4567,
    0401234567, 09 310 12345); numbers abroad only with + (or 00) and the country code."""
    text = raw.strip()
    if not text:
        raise InvalidPhone("phone.required", "a phone number is required")
    if not _PHONE_CHARS.fullmatch(text):
        raise InvalidPhone("phone.invalid", f"{raw[:40]!r} is not a phone number")
    digits = re.sub(r"\D", "", text)
    if len(digits) > 15:
        raise InvalidPhone("phone.too_long", f"{raw[:40]!r} has more digits than any number")
    if len(digits) < 5:
        raise InvalidPhone("phone.too_short", f"{raw[:40]!r} has too few digits")
    international = text.startswith("+") or digits.startswith("00")
    candidate = "+" + digits[2:] if digits.startswith("00") else text
    try:
        number = phonenumbers.parse(candidate, None if international else region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("phone.invalid", f"{raw[:40]!r} is not a phone number") from exc
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not international and not digits.startswith("0") and _valid("+" + digits):
        raise InvalidPhone("phone.foreign_needs_plus",
                           f"{raw[:40]!r}: a number abroad needs + and its country code")
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason in (phonenumbers.ValidationResult.TOO_SHORT,
                  phonenumbers.ValidationResult.INVALID_LENGTH):
        raise InvalidPhone("phone.too_short", f"{raw[:40]!r} has too few digits")
    if reason == phonenumbers.ValidationResult.TOO_LONG:
        raise InvalidPhone("phone.too_long", f"{raw[:40]!r} has too many digits")
    raise InvalidPhone("phone.invalid", f"{raw[:40]!r} is not a valid phone number")


def _valid(e164: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return False


def normalise_email(raw: str) -> str | None:
    address = parseaddr(raw)[1].strip().lower()
    return address if "@" in address and " " not in address else None


def identify(ctx: Context) -> None:
    inbound, placement = ctx.inbound, ctx.placement
    ids: list[tuple[str, str]] = []
    sender = normalise_email(inbound.sender_email) if inbound.sender_email else None
    domain = sender.rsplit("@", 1)[1] if sender else None
    partner = ctx.reference.partner_by_domain(ctx.session, domain) if domain else None
    if partner is not None and inbound.partner_verified is False:
        ctx.record("identify", "partner_unverified", partner=partner.name, domain=domain,
                   why=inbound.partner_evidence or "")
        partner = None  # an unknown sender until the mail proves where it came from
    if partner is not None:
        placement.partner_id = partner.id
        placement.who_contacted = partner.who_contacted
        ctx.record("identify", "partner", partner=partner.name, domain=domain)
    elif sender:
        ids.append(("email", sender))
    if inbound.sender_phone:
        ids.append(("phone", inbound.sender_phone))
    if inbound.chat_token_hash:
        ids.append(("chat", inbound.chat_token_hash))
    if inbound.trust == "link":  # what people write in a call's notes or a form proves nothing
        ids += [("hetu", hetu_digest(c, ctx.hetu_key)) for c in find_identity_codes(inbound.text)]
    placement.identifiers = ids
    lock_identifiers(ctx.session, ids)  # a concurrent routing may be adding one of them
    resident = resident_by_identifiers(ctx.session, ids)
    kinds = sorted({k for k, _ in ids})
    if inbound.trust == "staff" and inbound.resident_id is not None:  # chosen, not guessed
        chosen = ctx.session.get(Resident, inbound.resident_id)
        if chosen is not None and resident_visible(ctx.session, inbound.handled_by, chosen.id):
            resident, kinds = chosen, ["chosen"]
    if resident is not None and inbound.trust == "suggest":
        placement.identifiers = []  # the number stays with its resident until confirmed
        placement.possible_resident_id = resident.id
        ctx.record("identify", "possible_match", resident_id=resident.id, kinds=kinds)
    elif resident is not None and inbound.trust == "staff" and not resident_visible(
            ctx.session, inbound.handled_by, resident.id):
        placement.identifiers = []  # never reveal or merge another area's resident
        ctx.record("identify", "not_visible", kinds=kinds)
    elif resident is not None:
        ctx.resident = resident
        placement.resident_id = resident.id
        ctx.record("identify", "known_resident", resident_id=resident.id, kinds=kinds)
    elif ids:
        ctx.record("identify", "new_resident", kinds=kinds)
    else:
        ctx.record("identify", "no_resident")
