"""The auditor's page and the resident's export speak fi, sv and en: audit.po holds every
message of /audit and the log report, rights.po every message of the export PDF; both are
complete in fi and sv, hold nothing unused, keep each placeholder, and no message id means
something else in another catalog (web/i18n.py merges them all)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from web.i18n import LANGUAGES, LOCALE_DIR

WEB = Path(__file__).resolve().parents[2] / "web"
PLACEHOLDERS = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def catalog(lang: str, name: str) -> dict[str, object]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / name).open("rb") as f:
        return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in read_po(f)
                if m.id}


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDERS.findall(text)}

SOURCES = {"audit.po": (["audit.html", "audit/log_report.html"],
                        ["audit_page.py", "audit_api.py"]),
           "rights.po": (["audit/export.html"], [])}


def used(name: str) -> set[str]:
    templates, python = SOURCES[name]
    ids: set[str] = set()
    for template in templates:
        for _l, message, _c, _x in extract_from_file(
                "jinja2", WEB / "templates" / template, keywords={"_": None},
                options={"extensions": "jinja2.ext.i18n"}):
            ids.add(message if isinstance(message, str) else message[0])
    for module in python:
        for _l, message, _c, _x in extract_from_file("python", WEB / module,
                                                     keywords={"N_": None}):
            ids.add(message)
    return ids


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_message_used_is_in_the_catalog_and_nothing_else(name: str) -> None:
    ids = used(name)
    assert len(ids) > 20
    for lang in LANGUAGES:
        assert set(catalog(lang, name)) == ids, (lang, name)


@pytest.mark.parametrize("name", sorted(SOURCES))
@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_complete_with_placeholders_and_one_meaning_each(name: str, lang: str) -> None:
    mine = catalog(lang, name)
    for msgid, text in mine.items():
        assert isinstance(text, str) and text.strip(), f"{lang} {name} lacks {msgid!r}"
        assert placeholders(text) == placeholders(msgid), (lang, msgid)
    for po in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        if po.name != name:
            other = catalog(lang, po.name)
            clashes = {m for m in set(mine) & set(other) if other[m] and other[m] != mine[m]}
            assert not clashes, f"{lang}: {po.name} translates {sorted(clashes)} otherwise"
