"""case: link the contact to the resident's open case, or open one."""

from __future__ import annotations

from inbox.cases import graver
from inbox.lookups import open_case_of
from router.context import Context


def link_or_open_case(ctx: Context) -> None:
    placement = ctx.placement
    if ctx.resident is None and not placement.identifiers:
        ctx.record("case", "none")
        return
    case = open_case_of(ctx.session, ctx.resident.id) if ctx.resident else None
    if case is not None:
        placement.case_id = case.id
        ctx.record("case", "linked", case_id=case.id)
        if graver(case.urgency, placement.urgency) != placement.urgency:
            placement.urgency = case.urgency  # its key dates make it so, not the words
            ctx.record("classify", "case_dates", case_id=case.id, urgency=case.urgency)
        if case.area_code and placement.area_code is None:
            placement.area_code = case.area_code
            ctx.record("locate", "case_area", area=case.area_code, case_id=case.id)
        ctx.case_counsellor_id = case.counsellor_id
    else:
        placement.open_case = True  # the inbox opens it when it stores the contact
        ctx.record("case", "new")
