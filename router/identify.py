"""identify: who is this? Resident by phone (E.164), email, chat token or identity code."""

from __future__ import annotations

from email.utils import parseaddr

import phonenumbers

from inbox.identity import (  # noqa: F401  (re-exported: the router's vocabulary)
    HETU_PLACEHOLDER,
    find_identity_codes,
    hetu_digest,
    redact_identity_codes,
)
from inbox.lookups import partner_by_domain, resident_by_identifiers
from router.context import Context


class InvalidPhone(ValueError):
    pass


def normalise_phone(raw: str, region: str = "FI") -> str:
    """E.164, or InvalidPhone with words a resident understands."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"{raw!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str | None:
    address = parseaddr(raw)[1].strip().lower()
    return address if "@" in address and " " not in address else None


def identify(ctx: Context) -> None:
    inbound, placement = ctx.inbound, ctx.placement
    ids: list[tuple[str, str]] = []
    sender = normalise_email(inbound.sender_email) if inbound.sender_email else None
    domain = sender.rsplit("@", 1)[1] if sender else None
    partner = partner_by_domain(ctx.session, domain) if domain else None
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
    ids += [("hetu", hetu_digest(c, ctx.hetu_key)) for c in find_identity_codes(inbound.text)]
    placement.identifiers = ids
    resident = resident_by_identifiers(ctx.session, ids)
    kinds = sorted({k for k, _ in ids})
    if resident is not None:
        ctx.resident = resident
        placement.resident_id = resident.id
        ctx.record("identify", "known_resident", resident_id=resident.id, kinds=kinds)
    elif ids:
        ctx.record("identify", "new_resident", kinds=kinds)
    else:
        ctx.record("identify", "no_resident")
