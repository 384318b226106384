"""Reason and urgency from the words residents write, in fi, sv and en (router/classify.py).

The table holds sentences as residents write them: inflected, compounded, in capitals,
without umlauts, with typos. Each row: the text, the reason code (DOMAIN.md's taxonomy;
None: no reason recognised) and the urgency ("normal", "high", "urgent").
"""

from __future__ import annotations

from typing import Any

import pytest

from inbox.inbound import Inbound
from router.classify import REASON_RULES, URGENCY_RULES, Key, classify, tokens
from router.context import Context

NORMAL, HIGH, URGENT = "normal", "high", "urgent"

SENTENCES: list[tuple[str, int | None, str]] = [
    # --- the issue's own chat: a terminated lease with rent owed is a rent-debt case -------
    ("vuokranantaja irtisanoi vuokrasopimuksen, vuokra on rästissä, kaksi lasta", 2, HIGH),
    # --- Finnish: eviction ---------------------------------------------------------------------
    ("Minulle tuli häätöilmoitus eilen", 12, HIGH),
    ("Vuokrarästit ovat kasvaneet ja pelkään häätöä", 12, HIGH),
    ("Meidät häädetään perjantaina, mitä teen?", 12, URGENT),
    ("Häätöpäivä on ensi viikolla", 12, URGENT),
    ("häätö on huomenna klo 9", 12, URGENT),
    ("haato huomenna!!!", 12, URGENT),
    ("Sain tiedon häädön toimeenpanosta", 12, HIGH),
    ("Heka haki häätöä käräjäoikeudesta", 12, HIGH),
    ("Ulosottomies tulee tänään häätämään meidät", 12, URGENT),
    ("Meitä uhkaa häätö. Soitan huomenna uudelleen", 12, HIGH),
    # --- Finnish: rent debt and rent payment ---------------------------------------------------
    ("Hei, minulla on vuokrarästejä kolmen kuukauden ajalta", 2, NORMAL),
    ("VUOKRA ON RÄSTISSÄ", 2, NORMAL),
    ("vuokrarastit kasvaa koko ajan", 2, NORMAL),
    ("Minulle on kertynyt vuokravelkaa", 2, NORMAL),
    ("Vuokravelan takia en saa nukuttua", 2, NORMAL),
    ("Vuokravelka meni ulosottoon", 2, NORMAL),
    ("Sain haasteen käräjäoikeuteen vuokrarästeistä", 2, HIGH),
    ("Olen velkaa vuokranantajalle kaksi kuukautta", 2, NORMAL),
    ("Asumistuki lakkasi ja en pysty maksamaan vuokraa", 1, NORMAL),
    ("Vuokra jäi maksamatta tässä kuussa", 1, NORMAL),
    ("Vuokranmaksu on myöhässä, palkka tulee vasta 15. päivä", 1, NORMAL),
    ("Meillä on ollut haasteita maksaa vuokraa ajallaan", 1, NORMAL),
    ("Voinko tulla huomenna juttelemaan vuokranmaksusta?", 1, NORMAL),
    # --- Finnish: lease terminated, court, discharge, crisis, homelessness ---------------------
    ("Sain irtisanomisilmoituksen", 10, HIGH),
    ("Minut on irtisanottu asunnosta", 10, HIGH),
    ("Vuokrasopimukseni irtisanominen tuli postissa", 10, HIGH),
    ("Vuokranantaja purkaa vuokrasopimuksen", 10, HIGH),
    ("Asia on menossa käräjäoikeuteen", None, HIGH),
    ("Minut kotiutetaan sairaalasta maanantaina", 13, HIGH),
    ("Minut kotiutetaan sairaalasta maanantaina eikä minulla ole kotia", 10, HIGH),
    ("Pelkään joutuvani kadulle lasten kanssa", 10, HIGH),
    ("Olen asunnoton", 10, HIGH),
    ("Elämäntilanteeni on kriisissä", 6, HIGH),
    ("Lähisuhdeväkivalta, tarvitsen apua", 6, HIGH),
    # --- Finnish: the rest of the taxonomy -----------------------------------------------------
    ("Kylpyhuoneessa on hometta ja lapset sairastelee", 11, NORMAL),
    ("Asunnossa on luteita", 11, NORMAL),
    ("Kosteusvaurio keittiössä", 11, NORMAL),
    ("Naapuri metelöi joka yö", 3, NORMAL),
    ("Naapurin bileet häiritsee unta", 3, NORMAL),
    ("Haluaisin vaihtaa pienempään asuntoon", 5, NORMAL),
    ("Vuokra on liian kallis tuloihini nähden", 14, NORMAL),
    ("Asuntoni on sotkuinen enkä jaksa siivota", 4, NORMAL),
    ("Miten haen asumistukea?", 13, NORMAL),
    ("Kela hylkäsi toimeentulotukihakemukseni", 13, NORMAL),
    ("Talossa on kulttuurien välisiä riitoja", 7, NORMAL),
    # --- Swedish ---------------------------------------------------------------------------------
    ("Vi har fått ett beslut om vräkning", 12, HIGH),
    ("Vi vräks nästa vecka", 12, URGENT),
    ("Vräkningen är på fredag", 12, URGENT),
    ("Jag har hyresskulder hos Heka", 2, NORMAL),
    ("Kronofogden har skickat ett brev om hyresskulden", 2, NORMAL),
    ("Hyresvärden har sagt upp mig", 10, HIGH),
    ("Jag är uppsagd från lägenheten", 10, HIGH),
    ("Jag kan inte betala hyran den här månaden", 1, NORMAL),
    ("Målet tas upp i tingsrätten", None, HIGH),
    ("Jag skrivs ut från sjukhuset på fredag", 13, HIGH),
    ("Jag är bostadslös", 10, HIGH),
    ("Jag är i en livskris", 6, HIGH),
    ("Det finns mögel i badrummet", 11, NORMAL),
    ("Grannen stör hela natten", 3, NORMAL),
    ("Vi behöver en större lägenhet", 5, NORMAL),
    ("Hyran är för dyr för oss", 14, NORMAL),
    ("Kan jag få bostadsbidrag?", 13, NORMAL),
    # --- English ---------------------------------------------------------------------------------
    ("We are being evicted on Friday", 12, URGENT),
    ("The evicton is tomorrow", 12, URGENT),  # a typo
    ("I got an eviction notice", 12, HIGH),
    ("My landlord gave me a notice to quit", 10, HIGH),
    ("I'm behind on my rent by two months", 2, NORMAL),
    ("I owe rent to the housing company", 2, NORMAL),
    ("We have RENT ARREARS", 2, NORMAL),
    ("I have a court hearing next month", None, HIGH),
    ("I'm being discharged from hospital next week and have nowhere to live", 10, HIGH),
    ("I'm being discharged from hospital next week", 13, HIGH),
    ("I am homeless", 10, HIGH),
    ("There is mould in the bedroom", 11, NORMAL),
    ("The neighbours are so noisy", 3, NORMAL),
    ("Can I apply for housing benefit?", 13, NORMAL),
    ("I can't afford the rent anymore", 14, NORMAL),
    ("I can't pay the rent this month", 1, NORMAL),
    ("We would like to swap our flat for a bigger one", 5, NORMAL),
    ("Noise in the courtyard", 3, NORMAL),
    # --- nothing to see: no reason, normal ------------------------------------------------------
    ("Please see our homepage", None, NORMAL),
    ("I want to go home", None, NORMAL),
    ("vuokranantajan puhelinnumero?", None, NORMAL),
    ("Hei, kysyisin yhtä asiaa", None, NORMAL),
    ("Soitan huomenna uudelleen", None, NORMAL),
    ("Tack för hjälpen i dag!", None, NORMAL),
    ("Hälsningar, Kristian", None, NORMAL),
    ("Kiitos, asia on nyt selvä", None, NORMAL),
]


def run(text: str, subject: str | None = None) -> Context:
    inbound = Inbound(channel="chat", idempotency_key="k", text=text, subject=subject)
    session: Any = None  # classify never touches the database
    ctx = Context(session, inbound, b"key", text)
    classify(ctx)
    return ctx


def test_the_table_is_large_and_in_three_languages() -> None:
    assert len(SENTENCES) >= 60
    assert len({text for text, _, _ in SENTENCES}) == len(SENTENCES)
    assert {urgency for _, _, urgency in SENTENCES} == {NORMAL, HIGH, URGENT}


@pytest.mark.parametrize(("text", "reason", "urgency"), SENTENCES)
def test_reason_and_urgency_from_the_words(text: str, reason: int | None,
                                           urgency: str) -> None:
    ctx = run(text)
    assert (ctx.placement.reason, ctx.placement.urgency) == (reason, urgency), \
        ctx.placement.steps
    for step in ctx.placement.steps:  # each rule names the words, as the resident wrote them
        if step["code"] in ("classify.reason", "classify.urgent", "classify.imminent"):
            assert step["params"]["rule_name"]
            for words in step["params"]["words"].split(", "):
                assert words and words in text, (words, text)


def test_every_reason_rule_is_in_the_table() -> None:
    named = set()
    for text, _, _ in SENTENCES:
        named |= {s["params"]["rule_name"] for s in run(text).placement.steps
                  if s["code"] == "classify.reason"}
    assert named == {rule.name for _, rule in REASON_RULES}


def test_the_issue_example_names_both_the_debt_and_the_termination() -> None:
    ctx = run("vuokranantaja irtisanoi vuokrasopimuksen, vuokra on rästissä, kaksi lasta")
    steps = {s["code"]: s["params"] for s in ctx.placement.steps}
    assert steps["classify.reason"] == {"reason": 2, "words": "rästissä",
                                        "rule_name": "rent_debt"}
    assert steps["classify.urgent"] == {"words": "vuokranantaja irtisanoi vuokrasopimuksen",
                                        "rule_name": "lease_terminated"}


def test_an_imminent_eviction_names_the_eviction_and_the_day() -> None:
    ctx = run("Meillä on häätö. Se on huomenna!")
    assert ctx.placement.urgency == HIGH  # the day is in another sentence
    ctx = run("Häätö tulee, ja se on huomenna")
    assert ctx.placement.urgency == URGENT
    [step] = [s for s in ctx.placement.steps if s["code"] == "classify.imminent"]
    assert step["params"]["words"] == "Häätö tulee, ja se on huomenna"


def test_words_that_match_in_several_places_are_each_named_once() -> None:
    ctx = run("Vuokra on rästissä. Vuokrarästit kasvavat, rästissä on nyt 2000 €")
    [step] = [s for s in ctx.placement.steps if s["code"] == "classify.reason"]
    assert step["params"]["words"] == "rästissä, Vuokrarästit"


def test_the_subject_counts_and_starts_its_own_sentence() -> None:
    assert run("Ks. otsikko", subject="Vuokravelka").placement.reason == 2
    assert run("huomenna soitan", subject="Häätö").placement.urgency == HIGH


def test_a_chosen_topic_stays_and_the_words_still_set_the_urgency() -> None:
    inbound = Inbound(channel="chat", idempotency_key="k", text="vräkning i morgon", topic=1)
    ctx = Context(None, inbound, b"key", inbound.text)  # type: ignore[arg-type]
    classify(ctx)
    assert (ctx.placement.reason, ctx.placement.urgency) == (1, URGENT)


@pytest.mark.parametrize(("lang", "spec", "word", "matches"), [
    ("fi", "häätö*", "häätöpäivä", True),  # first part of a compound
    ("fi", "räst*", "vuokrarästit", True),  # last part, by stem
    ("fi", "räst*", "sairastelee", False),  # a short key inside another word
    ("fi", "home", "hometta", True),
    ("fi", "home", "homepage", False),
    ("fi", "=tänään", "tänä", False),
    ("sv", "kris", "livskris", True),
    ("sv", "kris", "kristian", False),
    ("sv", "stör", "större", False),
    ("en", "court", "courtyard", False),
    ("en", "evict*", "evictions", True),
    ("en", "mold", "mould", False),
])
def test_how_a_rule_word_matches(lang: str, spec: str, word: str, matches: bool) -> None:
    [token] = tokens(word)
    assert Key.parse(lang, spec).matches(token.lower, token.folded) is matches


def test_rule_words_are_letters_and_urgency_rules_are_named() -> None:
    with pytest.raises(ValueError, match="letters only"):
        Key.parse("fi", "häät[öo]")
    names = [rule.name for _, rule, _ in URGENCY_RULES]
    assert len(set(names)) == len(names)


def test_decomposed_letters_are_read_as_composed() -> None:
    """A Mac mail may send ä as a + combining diaeresis."""
    import unicodedata
    ctx = run(unicodedata.normalize("NFD", "Häätö on huomenna"))
    assert (ctx.placement.reason, ctx.placement.urgency) == (12, URGENT)
