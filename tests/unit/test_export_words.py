"""The export PDF and the log report speak the resident's words, as the UI does: a case's
entries, the log's roles, views, bases and kinds, the language, a callback attempt's
result; never a bare code when the code is known."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from web.audit_api import ACTIONS, BASES, KINDS, AuditApi, view_words
from web.i18n import Catalogs
from web.rights_api import RightsApi, entry_words


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


USE = {"at": "2026-03-02T08:00:00+00:00", "staff": "Ville Läntinen", "role": "counsellor",
       "view": "rights.export", "action": "read", "basis": "own_area"}
GIVEN = {"at": "2026-03-02T08:05:00+00:00", "staff": "Aino Auditoija", "recipient": "resident",
         "kind": "log_report", "basis": "right_to_log_data"}
LOG_CODES = ("counsellor", "rights.export", "own_area", "resident", "log_report",
             "right_to_log_data", "case.letter", "assigned", "refused", "write")


def cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                     html, re.S)]


def clock() -> datetime:
    return datetime(2026, 3, 3, 10, tzinfo=UTC)


@pytest.mark.parametrize(("lang", "said"), [
    ("fi", ("Asuneuvoja", "asukkaan tietojen", "oma alue", "lokiraportti")),
    ("sv", ("Boenderådgivare", "utlämnande", "eget område", "loggrapport")),
])
def test_the_log_report_says_every_code_in_the_residents_words(lang: str, said: tuple) -> None:
    catalogs = Catalogs.load()
    report = {"resident": {"id": 7, "name": "Matti", "language": lang}, "from": None,
              "to": None, "uses": [USE, {**USE, "view": "case.letter", "action": "write",
                                          "basis": "assigned"},
                                   {**USE, "action": "refused"}],
              "disclosures": [GIVEN]}
    html = AuditApi(None, catalogs, clock).html(report)  # type: ignore[arg-type]
    shown = cells(html)
    assert not [c for c in shown for code in LOG_CODES if code in c.split()], shown
    words = catalogs.for_language(lang)["_"]
    for code in ("counsellor", "own_area", "assigned", "right_to_log_data"):
        assert words(BASES[code]) in shown
    assert words(view_words("rights.export")) in shown
    assert words(view_words("case.letter")) in shown
    assert words(KINDS["log_report"]) in shown and words(ACTIONS["refused"]) in shown


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_the_export_names_the_language_and_each_callback_attempt_in_words(lang: str) -> None:
    catalogs = Catalogs.load()
    at = "2026-03-02T08:00:00+00:00"
    data = {"resident": {"id": 7, "name": "Matti", "postal_code": "00320", "language": lang,
                         "identifiers": []},
            "contacts": [{"channel": "phone", "received_at": at, "subject": None,
                          "messages": [], "notes": [],
                          "callbacks": [{"created_at": at, "phone": "+358501234567",
                                         "topic": "Vuokra", "attempts": [
                                             {"at": at, "result": "no_answer", "notes": ""},
                                             {"at": at, "result": "wrong_number",
                                              "notes": ""}]}]}],
            "calls": [], "cases": []}
    html = RightsApi(None, catalogs, clock).html(data)  # type: ignore[arg-type]
    shown = cells(html)
    assert {"fi": "Suomi", "sv": "Svenska", "en": "English"}[lang] in shown
    assert lang not in shown
    words = catalogs.for_language(lang)["_"]
    assert "no_answer" not in html and "wrong_number" not in html
    attempts = " ".join(shown)
    assert words("No answer") in attempts and words("Wrong number") in attempts
