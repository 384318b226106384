"""The staff accounts' catalog (accounts.po: the login's second factor, locks and ended
sessions, the demo notice, the API tokens page) is complete in fi and sv, holds nothing
unused, keeps each placeholder, and gives no message id another meaning than a catalog it
is merged with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from web.i18n import LANGUAGES, LOCALE_DIR, Catalogs

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
OURS = ["_account_notice.html", "_demo_notice.html", "login_code.html", "enrol.html",
        "tokens.html"]


PLACEHOLDERS = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def catalog(lang: str, name: str) -> dict[str, str | tuple[str, ...]]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / name).open("rb") as f:
        return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in read_po(f)
                if m.id}


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDERS.findall(text)}


def used() -> set[str]:
    ids: set[str] = set()
    for name in OURS:
        for _line, message, _comments, _context in extract_from_file(
                "jinja2", TEMPLATES / name,
                keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
                options={"extensions": "jinja2.ext.i18n"}):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_message_used_is_in_the_catalog_and_nothing_else() -> None:
    ids = used()
    assert {"Second factor", "Use a recovery code", "This is a demo.", "Revoke"} <= ids
    for lang in LANGUAGES:
        assert set(catalog(lang, "accounts.po")) == ids, lang


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_finnish_and_swedish_are_complete_and_keep_placeholders(lang: str) -> None:
    for msgid, text in catalog(lang, "accounts.po").items():
        texts = text if isinstance(text, tuple) else (text,)
        assert all(texts), f"{lang}: {msgid!r} has no translation"
        for t in texts:
            assert placeholders(t) == placeholders(msgid), f"{lang}: {msgid!r}"


def test_no_message_id_means_two_things_across_catalogs() -> None:
    for lang in ("fi", "sv"):
        ours = catalog(lang, "accounts.po")
        for po in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
            if po.name == "accounts.po":
                continue
            for msgid, text in catalog(lang, po.name).items():
                if msgid in ours:
                    assert ours[msgid] == text, f"{lang} {po.name}: {msgid!r}"


def test_the_login_steps_speak_each_language() -> None:
    catalogs = Catalogs.load()
    assert catalogs.gettext("fi", "Second factor") == "Toinen tunnistustekijä"
    assert catalogs.gettext("sv", "Recovery code") == "Reservkod"
    assert catalogs.ngettext("fi", "Too many failed attempts: this account is locked for "
                             "%(num)s more minute.", "Too many failed attempts: this account "
                             "is locked for %(num)s more minutes.", 3, num=3).endswith(
        "vielä 3 minuutin ajan.")
