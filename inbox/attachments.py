"""What an attachment really is, and whether a counsellor may open it — one rule for mail
(channels/email/parse.py) and the secure portal's uploads (web/secure.py).

The type comes from the bytes, never from the name or the declared Content-Type. Programs,
scripts and office documents with macros are quarantined with a reason (stored, shown,
downloadable by a lead or an admin only); a part over the size limits is left out of the
stored message with a `too_large.*` reason (the raw mail still holds it).

A reason is a code with parameters (`Reason`), stored in `Attachment.quarantine_reason` as
compact JSON `{"code": "disguised", "params": {"what": {"code": "program.pe", "params": {}},
"suffix": ".pdf"}}`; a parameter may itself be a reason. Readers get the words from the
catalogs' `attachments.po` (web/attachment_text.py). Rows stored before codes hold an English
sentence: `read_reason` gives it back as the code `legacy` with the sentence as `text`.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

MB = 1_000_000
DEFAULT_FILE_MAX = 10 * MB
DEFAULT_MESSAGE_MAX = 25 * MB

# Every code this module and the mail parser produce, with its parameters' names; the
# catalogs have one sentence for each (tests/unit/test_attachment_text.py).
REASONS: dict[str, tuple[str, ...]] = {
    "program.pe": (),  # a Windows program (PE/MZ)
    "program.elf": (),  # a Linux program
    "program.macho": (),  # a macOS program
    "program.java": (),  # a Mach-O universal binary or a Java class (same magic)
    "shortcut": (),  # a Windows .lnk that runs a command
    "script": (),  # starts with #!
    "runs_when_opened": ("suffix",),  # a suffix Windows or macOS runs (.js, .bat, .iso …)
    "disguised": ("what", "suffix"),  # a program (`what`, a reason) named like a document
    "macro.vba": (),  # an office file with a VBA project (OLE2, or OOXML vbaProject.bin)
    "macro.content_type": (),  # an OOXML file with a macro-enabled content type
    "macro.suffix": ("suffix",),  # a macro-enabled office suffix (.docm, .xlsm …)
    "macro.opendocument": (),  # an OpenDocument file with Basic or scripts
    "archive.encrypted": (),  # a zip whose contents cannot be checked
    "archive.program": ("name",),  # a zip holding a program or a macro file
    "forwarded": ("inner", "name"),  # a forwarded mail holding `name`, held for `inner`
    "too_large.file": ("size", "limit"),  # bytes: over the per-file limit, not stored
    "too_large.message": ("size", "limit"),  # bytes: past the per-message total, not stored
}
NOT_STORED = frozenset({"too_large.file", "too_large.message"})
LEGACY = "legacy"  # {"text": the English sentence stored before codes}
# The one sentence shape of a part left out before codes ("too large: 12.0 MB, over the
# limit of 10 MB per file"): such old rows hold no bytes.
_LEGACY_NOT_STORED = re.compile(r"too large: [\d.]+ MB, over the limit of [\d.]+ MB ")


@dataclass(frozen=True)
class Reason:
    """Why a counsellor may not open an attachment: a code of `REASONS`, its parameters."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def not_stored(self) -> bool:
        """Left out of the stored message (too large), rather than held in quarantine."""
        if self.code == LEGACY:
            return bool(_LEGACY_NOT_STORED.match(str(self.params.get("text", ""))))
        return self.code in NOT_STORED

    @classmethod
    def from_json(cls, value: object) -> Reason | None:
        """The reason of an `as_json` object (as the API gives it), else None."""
        if not isinstance(value, dict) or not isinstance(value.get("code"), str):
            return None
        params = value.get("params")
        return cls(value["code"], {k: (cls.from_json(v) or v) if isinstance(v, dict) else v
                                   for k, v in params.items()} if isinstance(params, dict)
                   else {})

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code,
                "params": {k: v.as_json() if isinstance(v, Reason) else v
                           for k, v in self.params.items()}}

    def stored(self) -> str:
        """The text for `Attachment.quarantine_reason`."""
        return json.dumps(self.as_json(), ensure_ascii=False, separators=(",", ":"),
                          sort_keys=True)

    def __str__(self) -> str:
        """Code and parameters, for logs and API problem details (not for residents)."""
        if self.code == LEGACY:
            return str(self.params.get("text", ""))
        if not self.params:
            return self.code
        return f"{self.code} ({', '.join(f'{k}: {v}' for k, v in self.params.items())})"


def reason(code: str, **params: Any) -> Reason:
    """A reason of `REASONS`, with exactly its parameters."""
    if code not in REASONS or set(params) != set(REASONS[code]):
        raise ValueError(f"no reason {code} with {sorted(params)}")
    return Reason(code, params)


def read_reason(stored: str | None) -> Reason | None:
    """The reason stored in `Attachment.quarantine_reason`; an old row's English sentence
    comes back as `legacy` with the sentence, to be shown as it is."""
    if not stored:
        return None
    if stored.startswith("{"):
        try:
            found = Reason.from_json(json.loads(stored))
        except ValueError:
            found = None
        if found is not None:
            return found
    return Reason(LEGACY, {"text": stored})


def stored_reason(found: Reason | None) -> str | None:
    return found.stored() if found is not None else None


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MACHO = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe")
LNK = b"L\x00\x00\x00\x01\x14\x02\x00"
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff"),
    (b"{\\rtf", "application/rtf"),
    (b"MSCF", "application/vnd.ms-cab-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"\x1f\x8b", "application/gzip"),
)
# Run when opened on Windows (or macOS, or any shell): held whatever the bytes are.
PROGRAM_SUFFIXES = frozenset({
    ".exe", ".com", ".scr", ".pif", ".cpl", ".dll", ".sys", ".msi", ".msp", ".msc", ".js",
    ".jse", ".vbs", ".vbe", ".wsf", ".wsh", ".bat", ".cmd", ".ps1", ".psm1", ".lnk", ".hta",
    ".jar", ".reg", ".scf", ".gadget", ".application", ".iso", ".img", ".vhd", ".vhdx",
    ".sh", ".apk", ".app", ".dmg", ".pkg", ".command",
})
MACRO_SUFFIXES = frozenset({".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".xlsb", ".pptm",
                            ".potm", ".ppsm", ".ppam", ".sldm"})
OOXML = {"word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
OLE2_KINDS = (("WordDocument", "application/msword"), ("Workbook", "application/vnd.ms-excel"),
              ("Book", "application/vnd.ms-excel"),
              ("PowerPoint Document", "application/vnd.ms-powerpoint"),
              ("__substg1.0_", "application/vnd.ms-outlook"))


@dataclass(frozen=True)
class Limits:
    """Bytes; from Settings (YHTEYS_ATTACHMENT_MAX_BYTES, _MESSAGE_MAX_BYTES)."""

    file: int = DEFAULT_FILE_MAX  # one file
    message: int = DEFAULT_MESSAGE_MAX  # all stored files of one mail (or upload) together


@dataclass(frozen=True)
class Verdict:
    content_type: str
    quarantine: Reason | None = None  # why a counsellor may not open it


def _suffix(name: str) -> str:
    base = name.rstrip(". ").lower()
    return base[base.rfind("."):] if "." in base else ""


def _is_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:  # cut inside a character, or not UTF-8 at all
        return exc.start >= len(sample) - 3 or all(b >= 0x20 or b in b"\t\r\n" for b in sample)


def _pe_or_dos(data: bytes) -> bool:
    if not data.startswith(b"MZ") or len(data) < 64:
        return False
    offset = int.from_bytes(data[0x3C:0x40], "little")
    return data[offset:offset + 4] == b"PE\x00\x00" or not _is_text(data)


def _zip(data: bytes) -> Verdict:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return Verdict("application/zip")
    names = [i.filename for i in infos]
    lower = [n.lower() for n in names]
    if "[content_types].xml" in lower:
        kind = next((t for prefix, t in OOXML.items() if any(n.startswith(prefix) for n in lower)),
                    "application/vnd.openxmlformats-officedocument")
        if any(n.rsplit("/", 1)[-1] == "vbaproject.bin" for n in lower):
            return Verdict(kind, reason("macro.vba"))
        try:
            types = archive.read(names[lower.index("[content_types].xml")])[:200_000]
        except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, EOFError, ValueError):
            types = b""
        if b"macroEnabled" in types:
            return Verdict(kind, reason("macro.content_type"))
        return Verdict(kind)
    odf = _opendocument(archive, names) if lower and lower[0] == "mimetype" else None
    if odf is not None:
        if any(n.startswith(("basic/", "scripts/")) for n in lower):
            return Verdict(odf, reason("macro.opendocument"))
        return Verdict(odf)
    if any(i.flag_bits & 0x1 for i in infos):
        return Verdict("application/zip", reason("archive.encrypted"))
    inside = next((n for n in names if _suffix(n) in PROGRAM_SUFFIXES | MACRO_SUFFIXES), None)
    if inside is not None:
        return Verdict("application/zip",
                       reason("archive.program", name=inside.rsplit("/", 1)[-1][:100]))
    return Verdict("application/zip")


def _opendocument(archive: zipfile.ZipFile, names: list[str]) -> str | None:
    """The OpenDocument type its `mimetype` entry names; any other value (a zip that only
    says it is a PDF) is an ordinary zip, checked for programs like one."""
    try:
        kind = archive.read(names[0])[:100].decode("ascii").strip()
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, EOFError, ValueError,
            UnicodeDecodeError):
        return None
    return kind if re.fullmatch(r"application/vnd\.oasis\.opendocument\.[a-z.-]+", kind) else None


def _ole2(data: bytes) -> Verdict:
    kind = next((t for entry, t in OLE2_KINDS if entry.encode("utf-16-le") in data),
                "application/x-ole-storage")
    if "_VBA_PROJECT".encode("utf-16-le") in data or b"_VBA_PROJECT" in data:
        return Verdict(kind, reason("macro.vba"))
    return Verdict(kind)


def sniff(data: bytes) -> Verdict:
    """The type the bytes are, and a reason to hold them when they can run."""
    if _pe_or_dos(data):
        return Verdict("application/x-msdownload", reason("program.pe"))
    if data.startswith(b"\x7fELF"):
        return Verdict("application/x-executable", reason("program.elf"))
    if data.startswith(MACHO):
        return Verdict("application/x-mach-binary", reason("program.macho"))
    if data.startswith(b"\xca\xfe\xba\xbe"):
        return Verdict("application/java-vm", reason("program.java"))
    if data.startswith(LNK):
        return Verdict("application/x-ms-shortcut", reason("shortcut"))
    if data.startswith(OLE2):
        return _ole2(data)
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip(data)
    if data[4:8] == b"ftyp":
        return Verdict("image/heic" if data[8:12] in (b"heic", b"heix", b"mif1") else
                       "video/mp4")
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return Verdict("image/webp")
    for magic, kind in SIGNATURES:
        if data.startswith(magic):
            return Verdict(kind)
    if data.startswith(b"#!"):
        return Verdict("text/x-script", reason("script"))
    if _is_text(data):
        head = data[:512].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html")):
            return Verdict("text/html")
        return Verdict("text/plain")
    return Verdict("application/octet-stream")


def judge(filename: str, data: bytes) -> Verdict:
    """`sniff`, and then the name: a program's suffix is held even when the bytes look
    harmless (a .js is text), and so are macro-enabled office suffixes."""
    verdict = sniff(data)
    if verdict.quarantine:
        suffix = _suffix(filename)
        if suffix and suffix not in PROGRAM_SUFFIXES and verdict.content_type in (
                "application/x-msdownload", "application/x-executable",
                "application/x-mach-binary"):
            return Verdict(verdict.content_type,
                           reason("disguised", what=verdict.quarantine, suffix=suffix))
        return verdict
    suffix = _suffix(filename)
    if suffix in PROGRAM_SUFFIXES:
        return Verdict(verdict.content_type, reason("runs_when_opened", suffix=suffix))
    if suffix in MACRO_SUFFIXES:
        return Verdict(verdict.content_type, reason("macro.suffix", suffix=suffix))
    return verdict
