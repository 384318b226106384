"""assign: the case's counsellor, else the area counsellor with the fewest open contacts."""

from __future__ import annotations

from inbox.lookups import least_loaded_counsellor
from inbox.models import Staff
from router.context import Context


def assign(ctx: Context) -> None:
    inbound, placement = ctx.inbound, ctx.placement
    if inbound.handled_by is not None:
        placement.assignee_id = inbound.handled_by
        ctx.record("assign", f"staff #{inbound.handled_by}", "logged by the counsellor who took it")
        return
    if inbound.kind == "callback":
        pool = ctx.area_name or "city-wide"
        ctx.record("assign", f"{pool} callback queue", "assigned to whoever claims it")
        return
    if placement.area_code is None:
        ctx.record("assign", "city-wide pool", "no area, so any counsellor may take it")
        return
    own = ctx.session.get(Staff, ctx.case_counsellor_id) if ctx.case_counsellor_id else None
    if own is not None and own.available and placement.area_code in own.area_codes:
        placement.assignee_id = own.id
        ctx.record("assign", own.name, "counsellor of the resident's case")
        return
    chosen = least_loaded_counsellor(ctx.session, placement.area_code, inbound.language)
    if chosen is None:
        ctx.record("assign", f"{ctx.area_name} pool", "no available counsellor in the area")
        return
    staff, load = chosen
    placement.assignee_id = staff.id
    ctx.record("assign", staff.name,
               f"{ctx.area_name} counsellor with fewest open contacts ({load})")
