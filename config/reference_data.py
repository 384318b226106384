"""Default data (areas from the postal-code table, taxonomies, partners) and TOML overrides."""

from __future__ import annotations

import csv
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import holidays

from inbox.hours import DAYS, OpeningHours, ServiceHours, parse_spans, weekly
from inbox.reference import AreaDef, PartnerDef

WHO_CONTACTED = {
    1: "Asiakas itse", 2: "Sosiaalitoimi", 3: "Vuokrakirjanpitäjä", 4: "Terveystoimi",
    5: "Kiinteistöyhtiön henkilökunta", 6: "Naapuri/talotoimikunta", 7: "Sukulaiset",
    8: "Asumisneuvola", 9: "Diakoni", 10: "Muu",
}
REASONS = {
    1: "Vuokranmaksu", 2: "Vuokravelka", 3: "Häiritsevä elämä, häiriö",
    4: "Asunnon huono hoito", 5: "Asunnon vaihto/haku", 6: "Kriisitilanne",
    7: "Kulttuurikonflikti", 10: "Asunnottomuusuhka", 11: "Asumisterveydellinen ongelma",
    12: "Häätö", 13: "Asumistilanteen tai tuen tarpeen selvittely",
    14: "Ylikallis vuokra-asunto",
}
RENT_DEBT_STEPS = {
    1: "Vuokravelkatilanteen selvittely", 2: "Vuokranmaksun seuranta",
    3: "Vuokravelan seuranta", 4: "Maksusopimus tehty",
    5: "Vuokravelka estetty menemästä käräjäoikeuteen",
    6: "Vuokravelka-asia peruttu käräjäoikeudesta", 7: "Vuokravelka meni oikeuteen",
    8: "Vuokrasuhde jatkuu neuvottelun jälkeen", 9: "Vuokrasuhde jatkuu määräaikaisena",
    10: "Vuokrasuhde jatkuu toistaiseksi", 11: "Häätö peruuntunut",
    12: "Häätöprosessi vireillä", 13: "Häätö peruuntunut ja vuokrasuhde jatkuu määräaikaisena",
    14: "Häätö",
}
DEFAULT_PARTNERS = [
    PartnerDef("kela", "Kela", ("kela.fi",), who_contacted=10),
    PartnerDef("heka", "Heka (Helsingin kaupungin asunnot)", ("hekaoy.fi", "heka.fi"),
               who_contacted=3),
]


def area_code(name: str) -> str:
    """'Läntinen' -> 'lantinen': ASCII lower case, as operators type it."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return ascii_name.lower().replace(" ", "-")


@dataclass(frozen=True)
class ReferenceData:
    areas: list[AreaDef]
    partners: list[PartnerDef]
    who_contacted: dict[int, str]
    reasons: dict[int, str]
    rent_debt_steps: dict[int, str]
    hours: ServiceHours = field(default_factory=lambda: opening_hours({}))


DEFAULT_WEEK = {day: "09:00-15:00" for day in ("mon", "tue", "wed", "thu", "fri")}


def opening_hours(spec: dict[str, Any], today: date | None = None) -> ServiceHours:
    """`[opening_hours]`: day = "HH:MM-HH:MM", holidays = [dates], public_holidays = bool,
    and `[opening_hours.areas.<code>]` for an area whose hours differ (days not named keep
    the default's)."""
    year = (today or date.today()).year
    closed: set[date] = set()
    if spec.get("public_holidays", True):
        closed |= set(holidays.country_holidays("FI", years=range(year - 1, year + 3)))
    closed |= {date.fromisoformat(str(d)) for d in spec.get("holidays", [])}
    days = {k: str(v) for k, v in spec.items() if k not in
            ("holidays", "public_holidays", "areas")}
    week = weekly(days, {i: parse_spans(DEFAULT_WEEK.get(d, "")) for i, d in enumerate(DAYS)})
    default = OpeningHours(week, frozenset(closed))
    areas = {code: OpeningHours(weekly({k: str(v) for k, v in area.items()}, week),
                                frozenset(closed))
             for code, area in spec.get("areas", {}).items()}
    return ServiceHours(default, areas)


def default_areas() -> list[AreaDef]:
    text = (Path(__file__).parent / "data" / "helsinki-postal-areas.csv").read_text("utf-8")
    areas: dict[str, AreaDef] = {}
    for row in csv.DictReader(text.splitlines()):
        code = area_code(row["major_district"])
        area = areas.setdefault(code, AreaDef(code, row["major_district"], {}))
        area.postal_codes[row["postal_code"]] = row["district"]
    return list(areas.values())


def _codes(table: dict[str, Any]) -> dict[int, str]:
    return {int(k): str(v) for k, v in table.items()}


def load_reference_data(path: Path | None) -> ReferenceData:
    """Defaults, with any part replaced by the TOML file's tables of the same name."""
    data = ReferenceData(default_areas(), list(DEFAULT_PARTNERS), dict(WHO_CONTACTED),
                         dict(REASONS), dict(RENT_DEBT_STEPS))
    if path is None:
        return data
    with path.open("rb") as f:
        doc = tomllib.load(f)
    areas = data.areas
    if "areas" in doc:
        areas = [
            AreaDef(code, spec["name"], {str(pc): str(d) for pc, d in
                                         spec.get("postal_codes", {}).items()})
            for code, spec in doc["areas"].items()
        ]
    partners = data.partners
    if "partners" in doc:
        partners = [
            PartnerDef(code, spec["name"], tuple(spec.get("domains", ())),
                       int(spec.get("who_contacted", 10)), bool(spec.get("tls_required", True)))
            for code, spec in doc["partners"].items()
        ]
    taxonomies = doc.get("taxonomies", {})
    return ReferenceData(
        areas, partners,
        _codes(taxonomies["who_contacted"]) if "who_contacted" in taxonomies
        else data.who_contacted,
        _codes(taxonomies["reasons"]) if "reasons" in taxonomies else data.reasons,
        _codes(taxonomies["rent_debt_steps"]) if "rent_debt_steps" in taxonomies
        else data.rent_debt_steps,
        opening_hours(doc.get("opening_hours", {})),
    )
