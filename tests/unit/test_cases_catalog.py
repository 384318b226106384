"""The case page's catalog (cases.po) and the letters' (letters.po): complete in fi and sv,
holding nothing unused, keeping each placeholder, never giving a message id another meaning
than any catalog it is merged with (web/i18n.py merges every .po of a language into one);
and every code of the case vocabulary has its words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from inbox import taxonomy
from web import case_words
from web.i18n import LANGUAGES, LOCALE_DIR, Catalogs

WEB = Path(__file__).resolve().parents[2] / "web"
SOURCES = {
    "cases.po": (["case.html", "_follow_ups_box.html"], ["case_words.py", "case_pages.py"]),
    "letters.po": (["letters/_letter.html", "letters/appointment.html",
                    "letters/contact_request.html"], []),
}
PLACEHOLDERS = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def used(name: str) -> set[str]:
    templates, modules = SOURCES[name]
    ids: set[str] = set()
    for template in templates:
        for _line, message, _comments, _context in extract_from_file(
                "jinja2", WEB / "templates" / template,
                keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
                options={"extensions": "jinja2.ext.i18n"}):
            ids.add(message if isinstance(message, str) else message[0])
    for module in modules:
        for _line, message, _comments, _context in extract_from_file(
                "python", WEB / module, keywords={"N_": None}):
            ids.add(message)
    return ids


def catalog(lang: str, name: str) -> dict[str, str | tuple[str, ...]]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / name).open("rb") as f:
        return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in read_po(f)
                if m.id}


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDERS.findall(text)}


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
    for msgid, text in catalog(lang, name).items():
        forms = text if isinstance(text, tuple) else (text,)
        assert all(f.strip() for f in forms), f"{lang} {name} lacks {msgid!r}"
        for form in forms:
            assert placeholders(form) <= placeholders(msgid) | {"num"}, (lang, msgid)
            if not isinstance(text, tuple):
                assert placeholders(form) == placeholders(msgid), (lang, msgid)


@pytest.mark.parametrize("name", sorted(SOURCES))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_message_means_something_else_in_a_catalog_merged_with_it(lang: str,
                                                                     name: str) -> None:
    mine = catalog(lang, name)
    for po in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        if po.name == name:
            continue
        other = catalog(lang, po.name)
        clashes = {m for m in set(mine) & set(other) if other[m] != mine[m]}
        assert not clashes, f"{lang}: {po.name} translates {sorted(clashes)} otherwise"


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
