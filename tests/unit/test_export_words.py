"""The export PDF names a case's entries in the resident's words, as the case page does:
never a bare taxonomy code when the code is known."""

from __future__ import annotations

import pytest

from web.i18n import Catalogs
from web.rights_api import entry_words


@pytest.mark.parametrize(("lang", "kind", "code", "said"), [
    ("fi", "step", "1", "Vuokravelkatilanteen selvittely"),
    ("sv", "intervention", "rent_debt", None),
    ("en", "outcome", "moved", "Moved"),
    ("fi", "note", None, None),
    ("en", "step", "99", "99"),  # unknown: as it is
])
def test_entries_have_words(lang: str, kind: str, code: str | None, said: str | None) -> None:
    catalogs = Catalogs.load()
    words = entry_words(lambda m: catalogs.gettext(lang, m))(kind, code)
    if said is not None:
        assert said in words
    if code not in (None, "99"):
        assert code not in words  # the code became words
    assert words.strip()
