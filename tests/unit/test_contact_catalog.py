"""The contact page's catalog (contact.po: the contact page, the reply templates page and
their forms) is complete in fi and sv, holds nothing unused, keeps each placeholder, and
never gives a message id another meaning than a catalog it is merged with (web/i18n.py
merges every .po of a language into one). Words both the case page and the contact page
show ("Case #%(id)s", "Area") are the case page's (cases.po) or the counsellor UI's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.catalog_checks import catalog as read
from tests.unit.catalog_checks import untranslated
from tests.unit.catalog_checks import used as used_ids
from web import contact_forms
from web.i18n import LANGUAGES, LOCALE_DIR, Catalogs

WEB = Path(__file__).resolve().parents[2] / "web"
TEMPLATES = ["contact.html", "templates_admin.html"]
MODULES = ["pages.py", "contact_forms.py", "template_pages.py"]


def used() -> set[str]:
    return used_ids(TEMPLATES, MODULES)


def catalog(lang: str, name: str = "contact.po") -> dict[str, str | tuple[str, ...]]:
    return read(lang, name)


def others(lang: str) -> dict[str, str | tuple[str, ...]]:
    merged: dict[str, str | tuple[str, ...]] = {}
    for po in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        if po.name != "contact.po":
            merged.update(catalog(lang, po.name))
    return merged


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
    assert untranslated(lang, "contact.po") == []

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
