"""The case page's catalog (cases.po) and the letters' (letters.po): complete in fi and sv,
holding nothing unused, keeping each placeholder, never giving a message id another meaning
than any catalog it is merged with (web/i18n.py merges every .po of a language into one);
and every code of the case vocabulary has its words."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbox import taxonomy
from tests.unit.catalog_checks import catalog, untranslated
from tests.unit.catalog_checks import used as used_ids
from web import case_words
from web.i18n import LANGUAGES, Catalogs

WEB = Path(__file__).resolve().parents[2] / "web"
SOURCES = {
    "cases.po": (["case.html", "_follow_ups_box.html"], ["case_words.py", "case_pages.py"]),
    "letters.po": (["letters/_letter.html", "letters/appointment.html",
                    "letters/contact_request.html"], []),
}


def used(name: str) -> set[str]:
    templates, modules = SOURCES[name]
    return used_ids(templates, modules)




@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_message_used_is_in_the_catalog_and_nothing_else(name: str) -> None:
    ids = used(name)
    if name == "cases.po":
        ids.add("Case #%(id)s")  # also the contact page's link to its case
        assert "Eviction prevented" in ids and "Record the step" in ids
    for lang in LANGUAGES:
        assert set(catalog(lang, name)) == ids, (lang, name)


@pytest.mark.parametrize("name", sorted(SOURCES))
@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_every_message_is_translated_with_its_placeholders(lang: str, name: str) -> None:
    assert untranslated(lang, name) == []

def test_every_code_of_the_case_vocabulary_has_words() -> None:
    for codes, words in ((taxonomy.OUTCOMES, case_words.OUTCOMES),
                         (taxonomy.INTERVENTIONS, case_words.INTERVENTIONS),
                         (taxonomy.HOUSING_TYPES, case_words.HOUSING_TYPES),
                         (taxonomy.PARTNERS, case_words.PARTNERS),
                         (taxonomy.MEETINGS, case_words.MEETINGS),
                         (taxonomy.FOLLOW_UP_KINDS, case_words.FOLLOW_UP_KINDS)):
        assert set(codes) == set(words)
    assert set(case_words.STEPS) == set(taxonomy.CaseVocabulary().steps)


def test_the_case_words_speak_finnish_swedish_and_english() -> None:
    catalogs = Catalogs.load()
    said = {lang: catalogs.gettext(lang, case_words.OUTCOMES["eviction_prevented"])
            for lang in LANGUAGES}
    assert said == {"fi": "Häätö estetty", "sv": "Vräkning förhindrad",
                    "en": "Eviction prevented"}
    assert catalogs.gettext("sv", case_words.MEETINGS["home_visit"]) == "Hembesök"
    assert catalogs.gettext("fi", "Follow-ups this week") == "Tämän viikon seurannat"
