"""The router's pure parts: phone numbers, postal codes, identity codes, reason and urgency."""

from __future__ import annotations

from typing import Any

import pytest

from inbox.inbound import Inbound
from router.classify import REASON_RULES, URGENCY, URGENCY_RULES, classify
from router.context import Context
from router.identify import (
    HETU_PLACEHOLDER,
    InvalidPhone,
    find_identity_codes,
    hetu_digest,
    normalise_phone,
    redact_identity_codes,
)
from router.locate import postal_codes_in

VALID_HETU = "131052-308T"
VALID_HETU_NEW_SEPARATOR = "010594Y202E"  # the 2023 century signs (Y, X, W, V, U; B-F)


# --- normalise_phone ------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["040 123 4567", "0401234567", "040-123 4567",
                                 "+358 40 123 4567", "+358401234567", "00358 40 123 4567",
                                 "(040) 1234567"])
def test_finnish_mobile_numbers_become_e164(raw: str):
    assert normalise_phone(raw) == "+358401234567"


def test_helsinki_landline_and_foreign_numbers_become_e164():
    assert normalise_phone("09 310 1691") == "+35893101691"
    assert normalise_phone("+46 8 123 456 78") == "+46812345678"


@pytest.mark.parametrize(("raw", "code"), [
    ("", "phone.required"), ("abc", "phone.invalid"), ("123", "phone.too_short"),
    ("0", "phone.too_short"), ("040 123", "phone.invalid"),
    ("040 123 4567 8910 11", "phone.too_long"), ("1" * 50, "phone.too_long"),
    ("+358 00 000 0000", "phone.invalid"), ("soita minulle", "phone.invalid"),
    ("46701234567", "phone.foreign_needs_plus"), ("4915112345678", "phone.foreign_needs_plus"),
])
def test_a_bad_number_says_what_was_wrong(raw: str, code: str):
    with pytest.raises(InvalidPhone) as raised:
        normalise_phone(raw)
    assert isinstance(raised.value, ValueError)
    assert raised.value.code == code
    if raw:
        assert repr(raw[:40]) in str(raised.value)  # the words name what was typed


def test_finnish_numbers_in_every_written_form_and_foreign_ones_with_plus():
    assert normalise_phone("09 310 12345") == "+358931012345"
    assert normalise_phone("+46 70 123 45 67") == normalise_phone("0046 70 123 45 67")


# --- postal_codes_in --------------------------------------------------------------------------

def test_postal_code_followed_by_helsinki_comes_first():
    text = "Laskun numero 12345. Osoite Kivihaantie 5 B 12, 00320 Helsinki."
    assert postal_codes_in(text) == ["00320", "12345"]


@pytest.mark.parametrize("city", ["Helsinki", "HELSINKI", "helsingfors", "Hki", "  Helsinki"])
def test_city_names_that_mark_the_postal_code(city: str):
    assert postal_codes_in(f"viite 55555, asun 00940 {city}")[0] == "00940"


def test_only_standalone_five_digit_numbers_are_postal_codes():
    assert postal_codes_in("puh 0401234567, hetu 131052-308T, asiakasnro 123456") == []
    assert postal_codes_in("") == []
    assert postal_codes_in("00100") == ["00100"]
    assert postal_codes_in("00100 Helsinkiläinen") == ["00100"]  # still found, just not first


def test_helsinki_mentioned_before_the_code_does_not_count():
    assert postal_codes_in("Helsinki 00100 ja 00940 Helsinki") == ["00940", "00100"]


# --- identity codes -----------------------------------------------------------------------------

def test_valid_identity_code_is_found_and_redacted():
    text = f"Henkilötunnukseni on {VALID_HETU}, soittakaa."
    assert find_identity_codes(text) == [VALID_HETU]
    redacted = redact_identity_codes(text)
    assert redacted == f"Henkilötunnukseni on {HETU_PLACEHOLDER}, soittakaa."
    assert "308T" not in redacted


@pytest.mark.parametrize("code", ["131052-308A", "311352-308T", "131052-3O8T"])
def test_invalid_identity_code_is_left_alone(code: str):
    text = f"Viite {code} tiedoksi"
    assert find_identity_codes(text) == []
    assert redact_identity_codes(text) == text


def test_lower_case_and_new_century_signs_are_redacted_too():
    text = f"a {VALID_HETU.lower()} b {VALID_HETU_NEW_SEPARATOR} c 131052+308T"
    assert len(find_identity_codes(text)) == 3
    assert redact_identity_codes(text) == f"a {HETU_PLACEHOLDER} b {HETU_PLACEHOLDER} " \
                                          f"c {HETU_PLACEHOLDER}"


def test_identity_code_digest_is_keyed_and_ignores_case():
    one = hetu_digest(VALID_HETU, b"key-1")
    assert one == hetu_digest(VALID_HETU.lower(), b"key-1")
    assert one != hetu_digest(VALID_HETU, b"key-2")
    assert VALID_HETU not in one and len(one) == 64


# --- classify -----------------------------------------------------------------------------------

def run_classify(text: str, subject: str | None = None) -> Context:
    inbound = Inbound(channel="email", idempotency_key="k", text=text, subject=subject)
    session: Any = None  # classify never touches the database
    ctx = Context(session, inbound, b"key", text)
    classify(ctx)
    return ctx


@pytest.mark.parametrize(("text", "reason"), [
    ("Minulle tuli häätöilmoitus", 12),
    ("Vi har fått ett beslut om vräkning", 12),
    ("We are being evicted", 12),
    ("Pelkään joutuvani kadulle", 10),
    ("I am homeless", 10),
    ("Minulle on kertynyt vuokravelkaa", 2),
    ("Jag har hyresskuld", 2),
    ("I have rent arrears", 2),
    ("Vuokran maksaminen on myöhässä", 1),
    ("I can't pay the rent this month", 1),
    ("Asunto on liian kallis", 14),
    ("Naapurin häiriö jatkuu öisin", 3),
    ("Störning från grannen", 3),
    ("Asunnossa on hometta ja kosteusvaurio", 11),
    ("Det finns mögel i badrummet", 11),
    ("Haluan hakea asunnon vaihto", 5),
])
def test_reason_from_the_words_used(text: str, reason: int):
    ctx = run_classify(text)
    assert ctx.placement.reason == reason
    [step] = [s for s in ctx.placement.steps if s["code"] == "classify.reason"]
    assert step["rule"] == "classify" and step["params"]["reason"] == reason
    assert all(w in text.lower() for w in step["params"]["words"].lower().split(", "))


def test_gravest_reason_wins_and_subject_counts():
    ctx = run_classify("Vuokravelkaa on ja nyt häätö uhkaa")
    assert ctx.placement.reason == 12
    assert run_classify("Ks. otsikko", subject="Vuokravelka").placement.reason == 2


def test_no_reason_words_is_recorded_as_unknown():
    ctx = run_classify("Hei, kysyisin yhtä asiaa")
    assert ctx.placement.reason is None and ctx.placement.urgency == "normal"
    assert {"rule": "classify", "code": "classify.reason_unknown",
            "params": {}} in ctx.placement.steps


@pytest.mark.parametrize("text", ["Häätö huomenna", "Käräjäoikeus käsittelee asian",
                                  "Court hearing next week", "Vräkning i morgon",
                                  "Kotiutuminen sairaalasta", "I'm in a crisis"])
def test_urgent_words_make_it_high(text: str):
    """High at least: an eviction the words say is near is "urgent" (tests/unit/test_classify)."""
    ctx = run_classify(text)
    assert ctx.placement.urgency in ("high", "urgent")
    assert any(s["code"] in ("classify.urgent", "classify.imminent")
               for s in ctx.placement.steps)


def test_rent_payment_in_either_word_order():
    """Finnish puts the verb first as often as not: "en pysty maksamaan vuokraa"."""
    assert run_classify("En pysty maksamaan vuokraa tässä kuussa").placement.reason == 1
    assert run_classify("Vuokra jäi maksamatta").placement.reason == 1


@pytest.mark.parametrize("text", ["Minut kotiutetaan sairaalasta perjantaina",
                                  "Kotiutus on ensi viikolla", "Sairaala kotiuttaa minut"])
def test_discharge_in_any_form_is_urgent(text: str):
    assert run_classify(text).placement.urgency == "high"


def test_a_name_is_not_a_crisis():
    """"kris" (Swedish: crisis) must not match inside names such as Kristiina or Kristian."""
    ctx = run_classify("Haluaisin vaihtaa asuntoa isompaan. Terveisin Kristiina")
    assert ctx.placement.reason == 5, ctx.placement.steps
    assert run_classify("Hälsningar, Kristian").placement.reason is None


def test_a_courtyard_is_not_a_court():
    ctx = run_classify("There is noise in the courtyard every night")
    assert ctx.placement.reason == 3
    assert ctx.placement.urgency == "normal", ctx.placement.steps


def test_reason_and_urgency_rules_are_named_and_codes_are_known():
    from config.reference_data import REASONS
    for code, rule in REASON_RULES:
        assert code in REASONS and rule.terms, rule.name
    assert len({rule.name for _, rule in REASON_RULES}) == len(REASON_RULES)
    assert {level for level, _, _ in URGENCY_RULES} <= set(URGENCY) - {"normal"}


def test_a_topic_the_resident_chose_is_the_reason_and_words_still_make_it_urgent():
    inbound = Inbound(channel="chat", idempotency_key="k", text="Häätö on huomenna", topic=2)
    ctx = Context(None, inbound, b"key", inbound.text)  # type: ignore[arg-type]
    classify(ctx)
    assert ctx.placement.reason == 2 and ctx.placement.urgency == "urgent"
    assert ctx.placement.steps[0] == {"rule": "classify", "code": "classify.topic_chosen",
                                      "params": {"reason": 2}}
