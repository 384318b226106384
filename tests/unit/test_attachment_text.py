"""Every reason the attachment rule can give has a sentence in fi, sv and en with the
reason's parameters; reasons are stored as codes and rendered in the reader's language;
rows stored before codes are shown as they were."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from inbox.attachments import REASONS, Reason, read_reason, reason
from web.attachment_text import AttachmentText, megabytes
from web.i18n import LANGUAGES, LOCALE_DIR, Catalogs

ROOT = Path(__file__).resolve().parents[2]
PRODUCERS = [ROOT / "inbox" / "attachments.py", ROOT / "channels" / "email" / "parse.py"]
PY_FORMAT = re.compile(r"%\((\w+)\)s")
PE = Reason("program.pe")


def produced() -> dict[str, set[str]]:
    """code -> parameter names of every reason("code", ...) call where reasons are made."""
    found: dict[str, set[str]] = {}
    for path in PRODUCERS:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "reason"):
                [code] = node.args
                assert isinstance(code, ast.Constant), f"{path.name}: a code must be literal"
                found[code.value] = {k.arg for k in node.keywords if k.arg}
    return found


def sentences(lang: str) -> dict[str, str]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "attachments.po").open("rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id and isinstance(m.id, str)}


@pytest.fixture(scope="module")
def text() -> AttachmentText:
    return AttachmentText(Catalogs.load())


def test_every_code_made_is_declared_with_its_parameters_and_every_declared_one_is_made():
    made = produced()
    assert {"program.pe", "disguised", "forwarded", "too_large.file"} <= set(made)
    assert set(made) == set(REASONS)
    for code, names in made.items():
        assert names == set(REASONS[code]), code


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_code_has_a_sentence_with_matching_placeholders(lang: str):
    catalog = sentences(lang)
    for code, names in REASONS.items():
        sentence = catalog.get(f"attachment.{code}")
        assert sentence, f"{lang} lacks attachment.{code}"
        assert set(PY_FORMAT.findall(sentence)) == set(names), (lang, code, sentence)
    for unit in ("attachment.unit.mb", "attachment.unit.kb"):
        assert set(PY_FORMAT.findall(catalog[unit])) == {"n"}, (lang, unit)
    assert set(catalog) == set(sentences("en")), lang


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_code_renders(text: AttachmentText, lang: str):
    sample = {"suffix": ".js", "name": "x.exe", "what": PE, "inner": PE, "size": 12_500_000,
              "limit": 10_000_000}
    for code, names in REASONS.items():
        rendered = text.reason(lang, reason(code, **{n: sample[n] for n in names}))
        assert rendered and "attachment." not in rendered and "%(" not in rendered, (lang,
                                                                                     code)


def test_reasons_read_in_the_readers_language(text: AttachmentText):
    disguised = reason("disguised", what=PE, suffix=".pdf")
    assert text.reason("fi", disguised) == (
        "Windows-ohjelma (PE/MZ-suoritettava tiedosto), nimetty päätteellä .pdf näyttämään muulta")
    assert text.reason("en", disguised) == (
        "a Windows program (PE/MZ executable), named .pdf to look like something else")
    assert text.reason("sv", disguised).startswith("ett Windows-program")
    forwarded = reason("forwarded", inner=disguised, name="lasku.pdf")
    assert text.reason("en", forwarded).startswith("a forwarded message holding a Windows")
    big = reason("too_large.file", size=12_500_000, limit=10_000_000)
    assert text.reason("fi", big) == "liian suuri: 12,5 Mt, yli tiedostokohtaisen rajan 10 Mt"
    assert text.reason("en", big) == "too large: 12.5 MB, over the limit of 10 MB per file"
    small = reason("too_large.message", size=905, limit=1500)
    assert "0,9 kt" in text.reason("fi", small) and "1,5 kt" in text.reason("fi", small)
    assert megabytes(25_000_000, "fi") == "25" and megabytes(2_500_000, "fi") == "2,5"


def test_stored_as_compact_json_and_read_back():
    stored = reason("disguised", what=PE, suffix=".pdf").stored()
    assert stored == ('{"code":"disguised","params":{"suffix":".pdf",'
                      '"what":{"code":"program.pe","params":{}}}}')
    assert read_reason(stored) == Reason("disguised", {"suffix": ".pdf", "what": PE})
    assert read_reason(None) is None and read_reason("") is None
    with pytest.raises(ValueError):
        reason("disguised", suffix=".pdf")  # a parameter missing
    with pytest.raises(ValueError):
        reason("no.such.code")


def test_too_large_is_told_apart_from_held_by_the_code():
    assert reason("too_large.file", size=2, limit=1).not_stored
    assert reason("too_large.message", size=2, limit=1).not_stored
    assert not PE.not_stored and not reason("archive.encrypted").not_stored


def test_rows_stored_before_codes_are_shown_as_they_were(text: AttachmentText):
    old = "a Windows program (PE/MZ executable), named .pdf to look like something else"
    found = read_reason(old)
    assert found == Reason("legacy", {"text": old}) and not found.not_stored
    assert text.reason("fi", found) == old
    big = read_reason("too large: 30.0 MB, over the limit of 10 MB per file")
    assert big is not None and big.not_stored
    assert text.reason("sv", big) == "too large: 30.0 MB, over the limit of 10 MB per file"
    assert text.reason("fi", Reason("future.kind")) == "future.kind"  # no sentence yet


def test_the_api_gets_the_code_object_and_the_text(text: AttachmentText):
    message = {"attachments": [
        {"quarantine_reason": reason("runs_when_opened", suffix=".js").as_json()},
        {"quarantine_reason": None}]}
    held, fine = text.message("sv", message)["attachments"]
    assert held["quarantine_reason"] == {"code": "runs_when_opened",
                                         "params": {"suffix": ".js"}}
    assert held["quarantine_text"] == "en fil som körs när den öppnas (.js)"
    assert fine["quarantine_text"] is None
