"""Every decision the router can record has a sentence in fi, sv and en, and renders."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from web.i18n import LANGUAGES, Catalogs
from web.routing_text import RoutingText

ROUTER = Path(__file__).resolve().parents[2] / "router"
SAMPLE = {"postal_code": "00320", "district": "Etelä-Haaga", "area": "lantinen",
          "candidates": ["02100"], "kinds": ["email", "hetu"], "resident_id": 7, "case_id": 3,
          "reason": 12, "words": "häätö", "staff": "Irma Itäinen", "staff_id": 2, "load": 1,
          "partner": "Kela", "domain": "kela.fi"}


# ctx.record(rule, how, ...) where `how` is a variable: the codes it takes.
VARIABLE_CODES = {"locate": ["postal_given", "postal_in_text", "resident_postal"]}


def recorded_steps() -> list[tuple[str, list[str]]]:
    """(code, parameter names) of every ctx.record(...) call in router/."""
    found = []
    for path in ROUTER.glob("*.py"):
        source = path.read_text("utf-8")
        for node in ast.walk(ast.parse(source)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "record"):
                rule_arg, code_arg = node.args[:2]
                assert isinstance(rule_arg, ast.Constant)
                names = [k.arg for k in node.keywords if k.arg]
                if isinstance(code_arg, ast.Constant):
                    codes = [code_arg.value]
                else:
                    codes = VARIABLE_CODES[rule_arg.value]
                    assert all(f'"{c}"' in source for c in codes), (path, codes)
                found += [(f"{rule_arg.value}.{c}", names) for c in codes]
    return found


@pytest.fixture(scope="module")
def text() -> RoutingText:
    return RoutingText(Catalogs.load())


def test_the_router_records_codes_we_can_find() -> None:
    codes = {code for code, _ in recorded_steps()}
    assert {"locate.postal_in_text", "locate.no_fixed_address", "classify.topic_chosen",
            "assign.least_loaded"} <= codes and len(codes) >= 18


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_recorded_decision_has_a_sentence_in_every_language(text: RoutingText,
                                                                   lang: str) -> None:
    steps = [*recorded_steps(), ("transfer.moved", ["by", "to_staff", "to_area", "note"])]
    for code, names in steps:
        params = {n: SAMPLE.get(n, "x") for n in names}
        if code == "transfer.moved":
            params = {"by": "Irma", "to_staff": "Ella", "to_area": "etelainen", "note": "syy"}
        rendered = text.step(lang, {"rule": code.split(".")[0], "code": code,
                                    "params": params})
        assert rendered != code and "%(" not in rendered, (lang, code, rendered)
        rule = code.split(".")[0]
        assert text.rule(lang, rule) != rule, (lang, rule)  # a label for the rule too


def test_area_and_reason_codes_become_words_in_the_readers_language(text: RoutingText) -> None:
    step = {"rule": "locate", "code": "locate.postal_given",
            "params": {"postal_code": "00940", "district": "Kontula", "area": "itainen"}}
    summary = {"area": "itainen", "by": step}
    assert text.summary("fi", summary) == "Itäinen: annettu postinumero 00940 (Kontula)"
    assert text.summary("sv", summary) == "Östra: angivet postnummer 00940 (Kontula)"
    assert text.summary("en", summary) == "Eastern: postal code given 00940 (Kontula)"
    reason = {"rule": "classify", "code": "classify.reason", "params": {"reason": 2,
                                                                       "words": "rent debt"}}
    assert "Hyresskuld" in text.step("sv", reason)
    assert text.summary("fi", {"area": None, "by": None}).startswith("Koko kaupunki")


def test_steps_stored_before_codes_are_shown_as_they_were(text: RoutingText) -> None:
    old = {"rule": "locate", "outcome": "Läntinen", "reason": "postal code given 00320"}
    assert text.step("sv", old) == "Läntinen: postal code given 00320"
    assert text.summary("fi", "Läntinen: postal code 00320") == "Läntinen: postal code 00320"
