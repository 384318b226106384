"""The disclosure log (luovutusloki): written where a resident's data leaves the service,
read (with the use log) only by auditors, and every such reading is itself logged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.access import Principal, log_access
from inbox.errors import Problem, bad_request
from inbox.hours import HELSINKI
from inbox.models import AccessLog, Contact, DisclosureLog, Message, Partner, Resident, Staff

LIMIT = 5000  # rows per reading of a listing; narrow the filters for more (a resident's
# log report is never cut: it is their right to all of it)


def disclose(session: Session, kind: str, recipient: str, basis: str, *,
             staff_id: int | None = None, resident_id: int | None = None,
             contact_id: int | None = None, case_id: int | None = None,
             detail: str = "") -> None:
    session.add(DisclosureLog(staff_id=staff_id, resident_id=resident_id,
                              contact_id=contact_id, case_id=case_id, kind=kind,
                              recipient=recipient[:200], basis=basis, detail=detail[:200]))


def mail_left(session: Session, message: Message, contact: Contact) -> None:
    """A reply left by email: to a partner it is a disclosure to another authority; a
    secure message puts the resident's conversation in the portal for them."""
    if contact.partner_id is not None:
        partner = session.get(Partner, contact.partner_id)
        disclose(session, "partner_mail", partner.name if partner else "partner",
                 "partner_cooperation", staff_id=message.staff_id,
                 resident_id=contact.resident_id, contact_id=contact.id,
                 case_id=contact.case_id, detail=f"message {message.id}")
    elif message.secure:
        disclose(session, "secure_message", "resident", "resident_own_matter",
                 staff_id=message.staff_id, resident_id=contact.resident_id,
                 contact_id=contact.id, case_id=contact.case_id,
                 detail=f"message {message.id}")


@dataclass(frozen=True)
class LogQuery:
    resident_id: int | None = None
    staff_id: int | None = None
    first: date | None = None
    last: date | None = None

    @classmethod
    def parse(cls, query: Any) -> LogQuery:
        def number(name: str) -> int | None:
            value = query.get(name)
            if value in (None, ""):
                return None
            if not str(value).isdigit():
                raise bad_request(f"{name} must be an id", field=name, code=f"{name}.invalid")
            return int(value)

        def day(name: str) -> date | None:
            value = query.get(name)
            if value in (None, ""):
                return None
            try:
                return date.fromisoformat(str(value))
            except ValueError:
                raise bad_request(f"{name} must be a date", field=name,
                                  code="period.date") from None
        first, last = day("from"), day("to")
        if first and last and first > last:
            raise bad_request("from must not be after to", field="from", code="period.reversed")
        return cls(number("resident"), number("staff"), first, last)

    def where(self, model: Any) -> list[Any]:
        out = []
        if self.resident_id is not None:
            out.append(model.resident_id == self.resident_id)
        if self.staff_id is not None:
            out.append(model.staff_id == self.staff_id)
        if self.first is not None:
            out.append(model.at >= datetime.combine(self.first, time(), HELSINKI))
        if self.last is not None:
            out.append(model.at < datetime.combine(self.last + timedelta(days=1), time(),
                                                   HELSINKI))
        return out


def _auditor(who: Principal) -> None:
    if not who.can("audit"):
        raise Problem(403, "Auditors only", "the use and disclosure logs are read by auditors",
                      code="role.auditor")


def _reading(session: Session, who: Principal, view: str, query: LogQuery) -> None:
    """Reading the logs is itself a use of the data they name."""
    log_access(session, who, view, resident_id=query.resident_id, basis_code=who.role)


def _staff_names(session: Session) -> dict[int, tuple[str, str]]:
    return {i: (n, r) for i, n, r in session.execute(select(Staff.id, Staff.name, Staff.role))}


def use_log(session: Session, who: Principal, query: LogQuery, limit: int | None = LIMIT
            ) -> list[dict[str, Any]]:
    _auditor(who)
    _reading(session, who, "audit.use_log", query)
    staff = _staff_names(session)
    rows = session.scalars(select(AccessLog).where(*query.where(AccessLog))
                           .order_by(AccessLog.id.desc()).limit(limit))
    return [{"id": r.id, "at": r.at.isoformat(), "staff_id": r.staff_id,
             "staff": staff.get(r.staff_id or -1, (r.actor or "", ""))[0],
             "role": staff.get(r.staff_id or -1, ("", ""))[1], "view": r.view,
             "action": r.action, "basis": r.basis, "resident_id": r.resident_id,
             "contact_id": r.contact_id, "case_id": r.case_id} for r in rows]


def disclosures(session: Session, who: Principal, query: LogQuery, limit: int | None = LIMIT
                ) -> list[dict[str, Any]]:
    _auditor(who)
    _reading(session, who, "audit.disclosures", query)
    staff = _staff_names(session)
    rows = session.scalars(select(DisclosureLog).where(*query.where(DisclosureLog))
                           .order_by(DisclosureLog.id.desc()).limit(limit))
    return [{"id": r.id, "at": r.at.isoformat(), "staff_id": r.staff_id,
             "staff": staff.get(r.staff_id or -1, ("", ""))[0], "kind": r.kind,
             "recipient": r.recipient, "basis": r.basis, "detail": r.detail,
             "resident_id": r.resident_id, "contact_id": r.contact_id, "case_id": r.case_id}
            for r in rows]


def resident_log(session: Session, who: Principal, resident_id: int, query: LogQuery
                 ) -> dict[str, Any]:
    """The Act's right to log data: who used the resident's data and to whom it was
    disclosed, in a period. Producing it is read (logged) and given to the resident
    (a disclosure on the basis of that right)."""
    _auditor(who)
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise Problem(404, "Not found", f"no resident {resident_id}", code="resident.unknown")
    scoped = LogQuery(resident_id, None, query.first, query.last)
    uses = use_log(session, who, scoped, limit=None)  # all of it, however long
    given = disclosures(session, who, scoped, limit=None)
    disclose(session, "log_report", "resident", "right_to_log_data", staff_id=who.staff_id,
             resident_id=resident_id, detail=f"{query.first or ''}..{query.last or ''}")
    return {"resident": {"id": resident.id, "name": resident.name or "",
                         "language": resident.language or "fi"},
            "from": query.first.isoformat() if query.first else None,
            "to": query.last.isoformat() if query.last else None,
            "uses": uses, "disclosures": given}  # this reading among them: it is a use too
