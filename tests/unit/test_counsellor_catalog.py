"""The counsellor catalog (counsellor.po: the staff UI's chrome, the login page, the shared
labels, the phone pages, the screen pop) is complete in fi and sv, holds nothing unused,
keeps each placeholder, and never gives a message id another meaning than a catalog it is
merged with (web/i18n.py merges every .po of a language into one). No Finnish is left
written into those templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.catalog_checks import catalog as read
from tests.unit.catalog_checks import untranslated
from tests.unit.catalog_checks import used as used_ids
from web.i18n import LANGUAGES, Catalogs

WEB = Path(__file__).resolve().parents[2] / "web"
TEMPLATES = ["base.html", "login.html", "_ui.html", "_call_pop.html", "_phone.html",
             "callbacks.html", "calls_new.html", "_phone_contact.html", "unavailable.html"]
PYTHON = ["phone_pages.py", "session.py"]  # their N_("…") ids are worded by the templates
ROUTING_IDS = re.compile(r"area\.\w+")  # area names: routing.po's, not this catalog's


def used() -> set[str]:
    return used_ids(TEMPLATES, PYTHON)


def catalog(lang: str, name: str = "counsellor.po") -> dict[str, str | tuple[str, ...]]:
    return read(lang, name)


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
    assert untranslated(lang, "counsellor.po") == []

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
