"""The contact page's catalog (contact.po: the contact page, the reply templates page and
their forms) is complete in fi and sv, holds nothing unused, keeps each placeholder, and
never gives a message id another meaning than a catalog it is merged with (web/i18n.py
merges every .po of a language into one). Words both the case page and the contact page
show ("Case #%(id)s", "Area") are the case page's (cases.po) or the counsellor UI's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from web import contact_forms
from web.i18n import LANGUAGES, LOCALE_DIR, Catalogs

WEB = Path(__file__).resolve().parents[2] / "web"
TEMPLATES = ["contact.html", "templates_admin.html"]
MODULES = ["pages.py", "contact_forms.py", "template_pages.py"]
PLACEHOLDERS = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def used() -> set[str]:
    ids: set[str] = set()
    for name in TEMPLATES:
        for _line, message, _comments, _context in extract_from_file(
                "jinja2", WEB / "templates" / name,
                keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
                options={"extensions": "jinja2.ext.i18n"}):
            ids.add(message if isinstance(message, str) else message[0])
    for name in MODULES:
        for _line, message, _comments, _context in extract_from_file(
                "python", WEB / name, keywords={"N_": None}):
            ids.add(message)
    return ids


def catalog(lang: str, name: str = "contact.po") -> dict[str, str | tuple[str, ...]]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / name).open("rb") as f:
        return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in read_po(f)
                if m.id}


def others(lang: str) -> dict[str, str | tuple[str, ...]]:
    merged: dict[str, str | tuple[str, ...]] = {}
    for po in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        if po.name != "contact.po":
            merged.update(catalog(lang, po.name))
    return merged


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDERS.findall(text)}


def test_every_message_used_has_words_and_the_catalog_holds_nothing_unused() -> None:
    ids = used()
    assert "Internal note — not sent to the resident" in ids and "Correct the routing" in ids
    assert "Reply not delivered" in ids  # from web/contact_forms.py
    for lang in LANGUAGES:
        mine = set(catalog(lang))
        assert mine <= ids, (lang, sorted(mine - ids))
        missing = ids - mine - {m for m, t in others(lang).items() if t or lang == "en"}
        assert not missing, (lang, sorted(missing))


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
        if po.name == "contact.po":
            continue
        other = catalog(lang, po.name)
        clashes = {m for m in set(mine) & set(other) if other[m] and other[m] != mine[m]}
        assert not clashes, f"{lang}: {po.name} translates {sorted(clashes)} otherwise"


def test_every_delivery_state_and_who_contacted_code_has_words() -> None:
    catalogs = Catalogs.load()
    states = ("pending", "sent", "retrying", "failed", "bounced", "notified", "opened",
              "replied", "expired")
    assert set(contact_forms.DELIVERY) == set(states) == set(contact_forms.DELIVERY_LOOK)
    for lang in ("fi", "sv"):
        for message in [*contact_forms.DELIVERY.values(),
                        *contact_forms.WHO_CONTACTED.values()]:
            assert catalogs.gettext(lang, message) != message, (lang, message)
    assert catalogs.gettext("fi", "Internal note — not sent to the resident") == (
        "Sisäinen muistiinpano \u2013 ei lähetetä asukkaalle")
    assert catalogs.ngettext("sv", "%(num)s template", "%(num)s templates", 2) == "2 mallar"
