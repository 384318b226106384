"""The counsellor catalog (counsellor.po: the staff UI's chrome, the login page, the shared
labels, the phone pages, the screen pop) is complete in fi and sv, holds nothing unused,
keeps each placeholder, and never gives a message id another meaning than a catalog it is
merged with (web/i18n.py merges every .po of a language into one). No Finnish is left
written into those templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from web.i18n import LANGUAGES, LOCALE_DIR, Catalogs

WEB = Path(__file__).resolve().parents[2] / "web"
TEMPLATES = ["base.html", "login.html", "_ui.html", "_call_pop.html", "_phone.html",
             "callbacks.html", "calls_new.html", "_phone_contact.html"]
PYTHON = ["phone_pages.py", "session.py"]  # their N_("…") ids are worded by the templates
ROUTING_IDS = re.compile(r"area\.\w+")  # area names: routing.po's, not this catalog's
PLACEHOLDERS = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def used() -> set[str]:
    ids: set[str] = set()
    for name in TEMPLATES:
        for _line, message, _comments, _context in extract_from_file(
                "jinja2", WEB / "templates" / name,
                keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
                options={"extensions": "jinja2.ext.i18n"}):
            ids.add(message if isinstance(message, str) else message[0])
    for name in PYTHON:
        for _line, message, _comments, _context in extract_from_file(
                "python", WEB / name, keywords={"N_": None}):
            ids.add(message)
    return ids


def catalog(lang: str, name: str = "counsellor.po") -> dict[str, str | tuple[str, ...]]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / name).open("rb") as f:
        return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in read_po(f)
                if m.id}


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDERS.findall(text)}


def test_every_message_used_is_in_the_catalog_and_nothing_else() -> None:
    ids = used()
    assert "Log a call" in ids and "Take the next callback" in ids
    assert "Enter the phone number." in ids  # from web/phone_pages.py
    assert "The email or password is wrong." in ids  # from web/session.py
    assert {"Inbox", "Log out", "Urgent", "area.itainen"} <= ids  # base.html, _ui.html
    own = {i for i in ids if not ROUTING_IDS.fullmatch(i)}
    for lang in LANGUAGES:
        assert set(catalog(lang)) == own, lang
        routing = catalog(lang, "routing.po")
        assert all(routing.get(i) or lang == "en" for i in ids - own), lang


def test_no_finnish_is_left_in_the_templates() -> None:
    finnish = re.compile(r"[äöÄÖ]|\b(Kirjaudu|Saapuneet|Paikalla|Poissa|Siirry|Suomi)\b")
    for name in TEMPLATES:
        text = (WEB / "templates" / name).read_text("utf-8")
        words = re.sub(r"\{#.*?#\}", "", text, flags=re.S)  # comments may speak of them
        words = words.replace('"fi": "Suomi"', "")  # Finnish named in its own language
        assert not finnish.search(words), (name, finnish.search(words))


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_every_message_is_translated_with_its_placeholders(lang: str) -> None:
    for msgid, text in catalog(lang).items():
        forms = text if isinstance(text, tuple) else (text,)
        assert all(f.strip() for f in forms), f"{lang} lacks {msgid!r}"
        for form in forms:
            assert placeholders(form) <= placeholders(msgid) | {"num"}, (lang, msgid)
            if not isinstance(text, tuple):
                assert placeholders(form) == placeholders(msgid), (lang, msgid)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_message_means_something_else_in_a_catalog_merged_with_it(lang: str) -> None:
    mine = catalog(lang)
    for po in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        if po.name == "counsellor.po":
            continue
        other = catalog(lang, po.name)
        clashes = {m for m in set(mine) & set(other) if other[m] and other[m] != mine[m]}
        assert not clashes, f"{lang}: {po.name} translates {sorted(clashes)} otherwise"


def test_the_counsellor_ui_speaks_finnish_and_the_others_on_request() -> None:
    catalogs = Catalogs.load()
    assert catalogs.gettext("fi", "Log a call") == "Kirjaa puhelu"
    assert catalogs.gettext("sv", "Log a call") == "Registrera samtal"
    assert catalogs.gettext("en", "Log a call") == "Log a call"
    assert catalogs.ngettext("fi", "%(num)s request waiting", "%(num)s requests waiting",
                             2) == "2 pyyntöä odottaa"


@pytest.mark.parametrize(("lang", "inbox", "away"), [("fi", "Saapuneet", "Poissa"),
                                                     ("sv", "Inkorg", "Borta"),
                                                     ("en", "Inbox", "Away")])
def test_the_chrome_speaks_each_language(lang: str, inbox: str, away: str) -> None:
    catalogs = Catalogs.load()
    assert catalogs.gettext(lang, "Inbox") == inbox
    assert catalogs.gettext(lang, "Away") == away
    assert catalogs.gettext(lang, "area.itainen") != "area.itainen"  # merged from routing.po
