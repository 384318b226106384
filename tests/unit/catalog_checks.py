"""What every catalog test needs: the message ids a set of templates and modules use, one
.po file read as a dict, and the placeholders of a text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from web.i18n import LOCALE_DIR

WEB = Path(__file__).resolve().parents[2] / "web"
PLACEHOLDERS = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def used(templates: Iterable[str] = (), modules: Iterable[str] = (),
         keywords: tuple[str, ...] = ("N_",)) -> set[str]:
    """Message ids in web/templates/<templates> and web/<modules> (marked with `keywords`)."""
    ids: set[str] = set()
    for name in templates:
        for _line, message, _comments, _context in extract_from_file(
                "jinja2", WEB / "templates" / name,
                keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
                options={"extensions": "jinja2.ext.i18n"}):
            ids.add(message if isinstance(message, str) else message[0])
    for name in modules:
        for _line, message, _comments, _context in extract_from_file(
                "python", WEB / name, keywords=dict.fromkeys(keywords)):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def catalog(lang: str, name: str) -> dict[str, str | tuple[str, ...]]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / name).open("rb") as f:
        return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in read_po(f)
                if m.id}


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDERS.findall(text)}


def untranslated(lang: str, name: str) -> list[str]:
    """Ids without words, or whose words lose or invent a placeholder (plurals may drop
    the number they are chosen by)."""
    wrong = []
    for msgid, text in catalog(lang, name).items():
        forms = text if isinstance(text, tuple) else (text,)
        if not all(f.strip() for f in forms):
            wrong.append(f"no words: {msgid!r}")
            continue
        for form in forms:
            extra = placeholders(form) - placeholders(msgid) - (
                {"num"} if isinstance(text, tuple) else set())
            lost = set() if isinstance(text, tuple) else placeholders(msgid) - placeholders(form)
            if extra or lost:
                wrong.append(f"placeholders: {msgid!r}")
    return wrong
