"""The inbox catalog (inbox.po: the inbox page, its row, the live pages' script words in
_live_words.html, the waiting time of web/inbox_page.py) is complete in fi and sv, holds
nothing unused, keeps each placeholder, and never gives a message id another meaning than a
catalog it is merged with (web/i18n.py merges every .po of a language into one)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jinja2
import pytest

from tests.unit.catalog_checks import catalog as read
from tests.unit.catalog_checks import untranslated
from tests.unit.catalog_checks import used as used_ids
from web.i18n import LANGUAGES, Catalogs
from web.inbox_page import waiting_text

WEB = Path(__file__).resolve().parents[2] / "web"
TEMPLATES = ["inbox.html", "_inbox_row.html", "_live_words.html"]


def used() -> set[str]:
    return used_ids(TEMPLATES, ["inbox_page.py"], keywords=("gettext",))


def catalog(lang: str, name: str = "inbox.po") -> dict[str, str | tuple[str, ...]]:
    return read(lang, name)


def test_every_message_used_is_in_the_catalog_and_nothing_else() -> None:
    ids = used()
    assert "Keyboard shortcuts" in ids and "Urgent: new contact" in ids
    assert "{hours} h {minutes} min" in ids  # from web/inbox_page.py
    for lang in LANGUAGES:
        assert set(catalog(lang)) == ids, lang


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_every_message_is_translated_with_its_placeholders(lang: str) -> None:
    assert untranslated(lang, "inbox.po") == []

@pytest.mark.parametrize(("lang", "seconds", "text"), [
    ("fi", 7500, "2 h 5 min"), ("sv", 7500, "2 h 5 min"), ("fi", 30, "alle minuutin"),
    ("sv", 30, "under en minut"), ("en", 600, "10 min"), ("fi", 90000, "1 pv 1 h"),
    ("en", 90000, "1 d 1 h"), ("en", -5, "less than a minute"),
])
def test_the_waiting_time_in_the_readers_words(lang: str, seconds: int, text: str) -> None:
    words = Catalogs.load().for_language(lang)
    assert waiting_text(words["gettext"], seconds) == text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_live_words_block_is_json_with_every_word_the_scripts_read(lang: str) -> None:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB / "templates"),
                             autoescape=True, extensions=["jinja2.ext.i18n"])
    html = env.get_template("_live_words.html").render(
        **Catalogs.load().for_language(lang), ui_lang=lang, lang_query="")
    block = re.search(r'<script type="application/json" id="live-words">(.*)</script>', html,
                      re.S)
    assert block, html
    words = json.loads(block.group(1))
    assert words["lang"] == lang
    assert set(words["presence"]) == {"online", "typing", "gone", "unknown"}
    assert set(words["waiting"]) == {"days", "hours", "minutes", "now"}
    scripts = (WEB / "static" / "inbox-list.js").read_text("utf-8")
    for key in set(re.findall(r"\bw\.(\w+)", scripts)):
        assert key in words["inbox"], key
    if lang == "fi":
        assert words["presence"]["online"] == "Asukas on paikalla"
        assert words["inbox"]["notify_urgent"] == "Kiireellinen: uusi yhteydenotto"
