"""Message catalogs: gettext `.po` files for server-rendered text, one JSON file per language
for the browser, side by side in `web/locale/<lang>/` (as Zulip keeps them).

The `.po` files are read at start-up (no compiled `.mo` in the repo or a build step): every
`*.po` of a language is merged into one `babel.support.Translations`, once per process while
the files stay as they are (compiling them took 0.2 s, which every start and every test's
service paid again). Message ids are English; `en` needs no translations, a missing one
falls back to the id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("fi", "sv", "en")
DEFAULT_LANGUAGE = "fi"
LOCALE_DIR = Path(__file__).parent / "locale"


def _translations(folder: Path) -> Translations:
    files = sorted((folder / "LC_MESSAGES").glob("*.po"))
    return _compiled(tuple((po, po.stat().st_mtime_ns, po.stat().st_size) for po in files))


@lru_cache(maxsize=32)
def _compiled(files: tuple[tuple[Path, int, int], ...]) -> Translations:
    """One language's catalogs merged; a file changed (its time or size) is read again.
    Shared by every Catalogs of the process: nothing changes a Translations once built."""
    merged = Translations()
    for po, _mtime, _size in files:
        with po.open("rb") as f:
            catalog = read_po(f)
        buf = BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        merged.merge(Translations(buf))
    return merged


@dataclass
class Catalogs:
    """Translations and browser catalogs of every supported language."""

    translations: dict[str, Translations] = field(default_factory=dict)
    browser: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path = LOCALE_DIR) -> Catalogs:
        catalogs = cls()
        for lang in LANGUAGES:
            catalogs.translations[lang] = _translations(root / lang)
            path = root / lang / "widget.json"
            catalogs.browser[lang] = json.loads(path.read_text("utf-8")) if path.exists() else {}
        return catalogs

    def gettext(self, lang: str, message: str, **params: Any) -> str:
        text = self.translations[language(lang)].ugettext(message)
        return text % params if params else text

    def ngettext(self, lang: str, singular: str, plural: str, n: int, **params: Any) -> str:
        text = self.translations[language(lang)].ungettext(singular, plural, n)
        return text % {"num": n, **params}

    def for_language(self, lang: str) -> dict[str, Any]:
        """Template context: `_`, `gettext`, `ngettext` bound to one language (Jinja i18n)."""
        lang = language(lang)
        translations = self.translations[lang]

        def gettext(message: str, **params: Any) -> str:
            text = translations.ugettext(message)
            return text % params if params else text

        def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
            return translations.ungettext(singular, plural, n) % {"num": n, **params}

        return {"_": gettext, "gettext": gettext, "ngettext": ngettext, "lang": lang}


def language(value: object, default: str = DEFAULT_LANGUAGE) -> str:
    """One of fi, sv, en; anything else gives the default."""
    return value if isinstance(value, str) and value in LANGUAGES else default


def request_language(query_lang: object, accept_language: str | None) -> str:
    """`?lang=` when it is one of ours, else the Accept-Language header, else Finnish."""
    if isinstance(query_lang, str) and query_lang in LANGUAGES:
        return query_lang
    return negotiate(accept_language)


def negotiate(accept_language: str | None, choices: Iterable[str] = LANGUAGES,
              default: str = DEFAULT_LANGUAGE) -> str:
    """The best of `choices` for an Accept-Language header (q-values honoured)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in choices and q > 0:
            ranked.append((-q, index, primary))
    return sorted(ranked)[0][2] if ranked else default
