"""assign: the case's counsellor, else the area counsellor with the fewest open contacts."""

from __future__ import annotations

from inbox.lookups import least_loaded_counsellor
from inbox.models import Staff
from router.context import Context


def assign(ctx: Context) -> None:
    inbound, placement = ctx.inbound, ctx.placement
    if inbound.handled_by is not None:
        placement.assignee_id = inbound.handled_by
        ctx.record("assign", "logged_by", staff_id=inbound.handled_by)
        return
    if inbound.kind == "callback":
        ctx.record("assign", "callback_queue", area=placement.area_code)
        return
    if placement.area_code is None:
        ctx.record("assign", "city_pool")
        return
    own = ctx.session.get(Staff, ctx.case_counsellor_id) if ctx.case_counsellor_id else None
    if own is not None and own.available and placement.area_code in own.area_codes:
        placement.assignee_id = own.id
        ctx.record("assign", "case_counsellor", staff_id=own.id, staff=own.name)
        return
    chosen = least_loaded_counsellor(ctx.session, placement.area_code, inbound.language)
    if chosen is None:
        ctx.record("assign", "area_pool", area=placement.area_code)
        return
    staff, load = chosen
    placement.assignee_id = staff.id
    ctx.record("assign", "least_loaded", staff_id=staff.id, staff=staff.name,
               area=placement.area_code, load=load)
