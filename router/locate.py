"""locate: which area? The postal code given, one found in the text, or the resident's own."""

from __future__ import annotations

import re

from router.context import Context

POSTAL_CODE = re.compile(r"(?<!\d)(\d{5})(?!\d)")
CITY_AFTER = re.compile(r"\s*(helsinki|helsingfors|hki)\b", re.IGNORECASE)


def postal_codes_in(text: str) -> list[str]:
    """Five-digit codes in the text, those followed by "Helsinki" first."""
    found = [(m.group(1), bool(CITY_AFTER.match(text, m.end())))
             for m in POSTAL_CODE.finditer(text)]
    return [c for c, city in found if city] + [c for c, city in found if not city]


def locate(ctx: Context) -> None:
    inbound = ctx.inbound
    if inbound.no_fixed_address:
        ctx.record("locate", "no_fixed_address")
        return
    candidates: list[tuple[str, str]] = []
    if inbound.postal_code:
        candidates.append((inbound.postal_code, "postal_given"))
    candidates += [(c, "postal_in_text") for c in postal_codes_in(ctx.text)]
    if ctx.resident is not None and ctx.resident.postal_code:
        candidates.append((ctx.resident.postal_code, "resident_postal"))
    known = ctx.reference.postal_areas(ctx.session, {c for c, _ in candidates})
    for code, how in candidates:
        if code in known:
            area_code, name, district = known[code]
            ctx.placement.area_code = area_code
            ctx.placement.postal_code = code
            ctx.area_name = name
            ctx.record("locate", how, postal_code=code, district=district, area=area_code)
            return
    ctx.record("locate", "city_wide", candidates=[c for c, _ in candidates])
