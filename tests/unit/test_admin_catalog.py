"""The admin catalog (admin.po: the staff accounts page /admin/staff) is complete in fi and
sv, holds exactly the ids the page and its module use, keeps each placeholder, and the
header's "Staff" link is worded in the counsellor catalog, where base.html's words live."""

from __future__ import annotations

import pytest

from tests.unit.catalog_checks import catalog, untranslated, used
from web.admin_pages import DONE, REFUSED, ROLE_WORDS
from web.i18n import LANGUAGES, Catalogs


def test_the_catalog_holds_what_the_page_uses_and_nothing_else() -> None:
    ids = used(["admin_staff.html"], ["admin_pages.py"])
    assert {"Staff accounts", "Disable the account", *DONE.values(), *REFUSED.values(),
            *ROLE_WORDS.values()} <= ids
    for lang in LANGUAGES:
        assert set(catalog(lang, "admin.po")) == ids, lang


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_every_message_is_translated_with_its_placeholders(lang: str) -> None:
    assert untranslated(lang, "admin.po") == []


@pytest.mark.parametrize(("lang", "staff", "title", "lockout"), [
    ("fi", "Käyttäjät", "Käyttäjätilit", "lukita itseään ulos"),
    ("sv", "Användare", "Personalkonton", "låsa ute sig själv"),
    ("en", "Staff", "Staff accounts", "lock itself out")])
def test_the_page_speaks_each_language(lang: str, staff: str, title: str, lockout: str
                                       ) -> None:
    catalogs = Catalogs.load()
    assert catalogs.gettext(lang, "Staff") == staff  # base.html's link: counsellor.po
    assert catalogs.gettext(lang, "Staff accounts") == title
    assert lockout in catalogs.gettext(lang, REFUSED["staff.self_lockout"])
    assert catalogs.ngettext(lang, "%(num)s staff account", "%(num)s staff accounts",
                             3).startswith("3 ")
