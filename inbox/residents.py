"""Finding a resident to link a call to: by number or by name, within one's areas."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.access import Principal, log_access, visible_contacts
from inbox.lookups import open_case_of
from inbox.models import Contact, Resident, ResidentIdentifier

LIMIT = 20


def search_residents(session: Session, who: Principal, q: str, phone: str | None
                     ) -> list[dict[str, Any]]:
    """Residents with this number (E.164) or a name containing `q`, among those with a
    contact this staff member may see; every resident shown is access-logged."""
    visible = select(Contact.resident_id).where(visible_contacts(who),
                                                Contact.resident_id.is_not(None))
    query = select(Resident).where(Resident.id.in_(visible))
    if phone:
        query = query.join(ResidentIdentifier, ResidentIdentifier.resident_id == Resident.id
                           ).where(ResidentIdentifier.kind == "phone",
                                   ResidentIdentifier.value == phone)
    else:
        query = query.where(func.lower(Resident.name).contains(q.strip().lower(),
                                                               autoescape=True))
    found = []
    for resident in session.scalars(query.order_by(Resident.name, Resident.id).limit(LIMIT)):
        case = open_case_of(session, resident.id)
        latest = session.scalar(select(Contact).where(Contact.resident_id == resident.id,
                                                      visible_contacts(who))
                                .order_by(Contact.id.desc()).limit(1))
        log_access(session, who, "api.residents.search", contact=latest)
        phones = [i.value for i in resident.identifiers if i.kind == "phone"]
        found.append({"id": resident.id, "name": resident.name,
                      "postal_code": resident.postal_code, "phones": phones,
                      "case_id": case.id if case else None,
                      "area": case.area_code if case else (latest.area_code if latest else None)})
    return found
