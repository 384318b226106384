"""The resident chat's catalogs are complete in fi, sv and en: the gettext catalog for the
server-rendered pages, the JSON catalog for the browser, the taxonomy's plain words, and a
sentence for every refusal code the chat server can give."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from config.reference_data import REASONS
from web.i18n import LANGUAGES, LOCALE_DIR, Catalogs
from web.widget import TOPICS

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
TEMPLATES = ["widget.html", "chat.html", "_chat_panel.html", "_chat_head.html",
             "secure.html", "_resident_header.html", "callback.html", "_callback_form.html"]
CLIENT_JS = [WEB / "static" / "chat-client.js", WEB / "static" / "chat-prechat.js",
             WEB / "static" / "callback-form.js"]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
PY_FORMAT = re.compile(r"%\((\w+)\)s")


def browser(lang: str) -> dict[str, str]:
    return json.loads((LOCALE_DIR / lang / "widget.json").read_text("utf-8"))


def template_msgids() -> set[str]:
    ids: set[str] = set()
    for name in TEMPLATES:
        for _line, message, _comments, _context in extract_from_file(
                "jinja2", WEB / "templates" / name, keywords={"_": None, "gettext": None},
                options={"extensions": "jinja2.ext.i18n"}):
            ids.add(message if isinstance(message, str) else message[0])
    return ids | {label for _code, label in TOPICS}


def po(lang: str) -> dict[str, str]:
    """The English-keyed page catalogs: the chat's, the secure portal's, the callback form's."""
    found: dict[str, str] = {}
    for name in ("messages.po", "portal.po", "callback.po"):
        with (LOCALE_DIR / lang / "LC_MESSAGES" / name).open("rb") as f:
            found |= {m.id: m.string for m in read_po(f) if m.id and isinstance(m.id, str)}
    return found


def test_browser_catalogs_have_the_same_keys_and_placeholders() -> None:
    english = browser("en")
    for lang in LANGUAGES:
        catalog = browser(lang)
        assert set(catalog) == set(english), lang
        for key, text in catalog.items():
            assert text.strip(), f"{lang} {key} is empty"
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), \
                f"{lang} {key}: placeholders differ from English"


def test_every_key_the_client_uses_is_in_the_catalog() -> None:
    keys = set(browser("en"))
    for path in CLIENT_JS:
        source = path.read_text("utf-8")
        used = set(re.findall(r"\bt\(\s*\"([a-z_.]*[a-z_])\"", source))
        used |= set(re.findall(r"\"((?:field|error|status|start)\.[a-z_]+)\"", source))
        assert used, path
        assert used <= keys, f"{path.name} uses {sorted(used - keys)}"


def test_every_refusal_code_of_the_chat_server_has_a_sentence() -> None:
    codes = {m for path in (ROOT / "channels").rglob("*.py")
             for m in re.findall(r"Refusal\(\s*\"([a-z_]+)\"", path.read_text("utf-8"))}
    assert {"text_too_long", "rate_limited", "token_unknown"} <= codes
    missing = {c for c in codes if f"error.{c}" not in browser("en")}
    assert not missing, f"no sentence for {sorted(missing)}"


def test_the_client_holds_no_language_text() -> None:
    for path in CLIENT_JS:
        text = path.read_text("utf-8")
        assert not re.search(r"[äöåÄÖÅ]", text), f"{path.name} has Finnish or Swedish text"
        for word in ("Lähetä", "Skicka", "\"Sending", "Connection lost", "in the queue"):
            assert word not in text, f"{path.name} says {word!r} itself"


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_every_page_text_is_translated(lang: str) -> None:
    portal_source = (WEB / "secure.py").read_text("utf-8")
    ids = template_msgids() | set(re.findall(r'(?<![\w.])t\(\s*"((?:[^"\\]|\\.)*)"',
                                             portal_source))
    assert "Start the chat" in ids and "Rent arrears" in ids
    translated = po(lang)
    missing = sorted(i for i in ids if not translated.get(i))
    assert not missing, f"{lang} lacks {missing}"
    for msgid, text in translated.items():
        assert set(PY_FORMAT.findall(text)) == set(PY_FORMAT.findall(msgid)), msgid


def test_the_topics_are_the_reason_taxonomy_and_render_in_each_language() -> None:
    assert {code for code, _ in TOPICS} == set(REASONS)
    catalogs = Catalogs.load()
    for lang in ("fi", "sv"):
        words = [catalogs.gettext(lang, label) for _code, label in TOPICS]
        assert all(w != label for w, (_c, label) in zip(words, TOPICS, strict=True)), lang
    assert catalogs.gettext("sv", "Rent arrears") == "Hyresskuld"


def test_the_loader_carries_its_three_labels() -> None:
    loader = (WEB / "static" / "widget.js").read_text("utf-8")
    for label in ("Kysy asumisneuvojalta", "Fråga bostadsrådgivningen", "Ask a housing counsellor"):
        assert label in loader
    assert "fetch(" not in loader and "XMLHttpRequest" not in loader
    assert '"*"' not in loader.split("postMessage", 1)[1], "postMessage needs a target origin"
