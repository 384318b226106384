"""Default reference data (areas from Helsinki's postal codes, partners, taxonomies) and the
TOML file (YHTEYS_CONFIG) that replaces any part of it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from config.reference_data import (
    REASONS,
    WHO_CONTACTED,
    area_code,
    default_areas,
    load_reference_data,
)

CSV = Path(__file__).resolve().parents[2] / "config" / "data" / "helsinki-postal-areas.csv"
MAJOR_DISTRICTS = {
    "etelainen": "Eteläinen", "lantinen": "Läntinen", "keskinen": "Keskinen",
    "pohjoinen": "Pohjoinen", "koillinen": "Koillinen", "kaakkoinen": "Kaakkoinen",
    "itainen": "Itäinen", "ostersundom": "Östersundom",
}


def csv_rows() -> list[dict[str, str]]:
    with CSV.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(("name", "code"), [
    ("Läntinen", "lantinen"), ("Itäinen", "itainen"), ("Östersundom", "ostersundom"),
    ("Eteläinen", "etelainen"), ("Koillinen", "koillinen"), ("Uusi Alue", "uusi-alue"),
])
def test_area_code_is_ascii_lower_case(name: str, code: str):
    assert area_code(name) == code


def test_default_areas_are_the_eight_major_districts():
    areas = load_reference_data(None).areas
    assert {a.code: a.name for a in areas} == MAJOR_DISTRICTS
    assert len(areas) == 8
    assert all(a.postal_codes for a in areas), "every area has postal codes"


def test_every_postal_code_in_the_table_maps_to_exactly_one_area():
    rows = csv_rows()
    assert rows, "the table is not empty"
    codes = [r["postal_code"] for r in rows]
    assert len(codes) == len(set(codes)), "a postal code listed twice would route ambiguously"
    owners: dict[str, list[str]] = {}
    for area in default_areas():
        for postal_code in area.postal_codes:
            owners.setdefault(postal_code, []).append(area.code)
    assert set(owners) == set(codes)
    for row in rows:
        assert row["postal_code"].isdigit() and len(row["postal_code"]) == 5
        assert row["postal_code"].startswith("00"), row  # Helsinki's codes are 00xxx
        assert row["district"].strip()
        assert owners[row["postal_code"]] == [area_code(row["major_district"])], row


@pytest.mark.parametrize(("postal_code", "area", "district"), [
    ("00100", "etelainen", "Keskusta"), ("00320", "lantinen", "Etelä-Haaga"),
    ("00940", "itainen", "Kontula"),
])
def test_known_postal_codes(postal_code: str, area: str, district: str):
    by_code = {pc: (a.code, d) for a in default_areas() for pc, d in a.postal_codes.items()}
    assert by_code[postal_code] == (area, district)


def test_default_partners_and_taxonomies():
    data = load_reference_data(None)
    partners = {p.code: p for p in data.partners}
    assert {"kela", "heka"} <= set(partners)
    assert "kela.fi" in partners["kela"].domains
    assert data.who_contacted == WHO_CONTACTED and data.reasons == REASONS
    assert data.reasons[12] == "Häätö" and data.who_contacted[1] == "Asiakas itse"


OVERRIDE = """
[areas.testila]
name = "Testilä"
postal_codes = { "00100" = "Keskusta", "00940" = "Kontula" }

[areas.muuala]
name = "Muuala"
postal_codes = { "00320" = "Etelä-Haaga" }

[partners.vantaa]
name = "Vantaan kaupunki"
domains = ["vantaa.fi"]
who_contacted = 2
tls_required = false

[taxonomies.reasons]
1 = "Vuokranmaksu"
99 = "Testisyy"
"""


def test_toml_override_replaces_areas_partners_and_taxonomies(tmp_path: Path):
    path = tmp_path / "yhteys.toml"
    path.write_text(OVERRIDE, encoding="utf-8")
    data = load_reference_data(path)
    assert [(a.code, a.name) for a in data.areas] == [("testila", "Testilä"),
                                                       ("muuala", "Muuala")]
    assert data.areas[0].postal_codes == {"00100": "Keskusta", "00940": "Kontula"}
    [partner] = data.partners
    assert (partner.code, partner.name, partner.domains, partner.who_contacted,
            partner.tls_required) == ("vantaa", "Vantaan kaupunki", ("vantaa.fi",), 2, False)
    assert data.reasons == {1: "Vuokranmaksu", 99: "Testisyy"}
    # Tables the file does not mention keep their defaults.
    assert data.who_contacted == WHO_CONTACTED
    assert data.rent_debt_steps == load_reference_data(None).rent_debt_steps


def test_toml_override_of_one_part_keeps_the_rest(tmp_path: Path):
    path = tmp_path / "partners.toml"
    path.write_text('[partners.kela]\nname = "Kela"\ndomains = ["kela.fi"]\n', "utf-8")
    data = load_reference_data(path)
    assert {a.code for a in data.areas} == set(MAJOR_DISTRICTS)
    assert [p.code for p in data.partners] == ["kela"]
    assert data.partners[0].who_contacted == 10 and data.partners[0].tls_required is True
    assert data.reasons == REASONS


def test_loading_defaults_twice_gives_independent_copies():
    first = load_reference_data(None)
    first.reasons[12] = "changed"
    first.partners.clear()
    again = load_reference_data(None)
    assert again.reasons[12] == "Häätö" and again.partners
