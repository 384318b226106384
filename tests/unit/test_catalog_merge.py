"""web/i18n.py merges every .po of a language into one: a message id given words in two
catalogs must get the same words in both, or one page would speak with the other's."""

from __future__ import annotations

import pytest

from tests.unit.catalog_checks import catalog
from web.i18n import LANGUAGES, LOCALE_DIR


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_message_means_two_things_across_catalogs(lang: str) -> None:
    seen: dict[str, tuple[str, object]] = {}
    clashes = []
    for po in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        for msgid, text in catalog(lang, po.name).items():
            if not text:
                continue
            if msgid in seen and seen[msgid][1] != text:
                clashes.append(f"{msgid!r}: {seen[msgid][0]} and {po.name}")
            seen.setdefault(msgid, (po.name, text))
    assert clashes == []
