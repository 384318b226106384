"""case: link the contact to the resident's open case, or open one."""

from __future__ import annotations

from inbox.lookups import open_case_of
from router.context import Context


def link_or_open_case(ctx: Context) -> None:
    placement = ctx.placement
    if ctx.resident is None and not placement.identifiers:
        ctx.record("case", "no case", "no resident to open a case for")
        return
    case = open_case_of(ctx.session, ctx.resident.id) if ctx.resident else None
    if case is not None:
        placement.case_id = case.id
        ctx.record("case", f"linked to case #{case.id}", "the resident's open case")
        if case.area_code and placement.area_code is None:
            placement.area_code = case.area_code
            ctx.record("locate", case.area_code, f"area of case #{case.id}")
        ctx.case_counsellor_id = case.counsellor_id
    else:
        placement.open_case = True  # the inbox opens it when it stores the contact
        ctx.record("case", "new case", "the resident has no open case")
