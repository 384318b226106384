"""Reference data (areas, postal codes, partners) kept in step with the configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import Area, AreaPostalCode, Partner


@dataclass(frozen=True)
class AreaDef:
    code: str
    name: str
    postal_codes: dict[str, str] = field(default_factory=dict)  # postal code -> district


@dataclass(frozen=True)
class PartnerDef:
    code: str
    name: str
    domains: tuple[str, ...]
    who_contacted: int = 10
    tls_required: bool = True


def sync_reference_data(
    session: Session, areas: list[AreaDef], partners: list[PartnerDef]
) -> None:
    """Upsert areas, their postal codes and partners; postal codes no longer configured go."""
    existing = {a.code: a for a in session.scalars(select(Area))}
    for area in areas:
        row = existing.get(area.code) or Area(code=area.code)
        row.name = area.name
        session.add(row)
    session.flush()
    wanted = {pc: (a.code, d) for a in areas for pc, d in a.postal_codes.items()}
    for pc_row in session.scalars(select(AreaPostalCode)):
        if pc_row.postal_code not in wanted:
            session.delete(pc_row)
        else:
            pc_row.area_code, pc_row.district = wanted.pop(pc_row.postal_code)
    for pc, (code, district) in wanted.items():
        session.add(AreaPostalCode(postal_code=pc, area_code=code, district=district))
    known = {p.code: p for p in session.scalars(select(Partner))}
    for p in partners:
        partner = known.get(p.code) or Partner(code=p.code)
        partner.name, partner.domains = p.name, [d.lower() for d in p.domains]
        partner.who_contacted, partner.tls_required = p.who_contacted, p.tls_required
        session.add(partner)
