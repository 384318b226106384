"""What a mail's attachment really is, and whether a counsellor may open it.

The type comes from the bytes, never from the name or the declared Content-Type. Programs,
scripts and office documents with macros are quarantined with the reason (stored, shown,
downloadable by a lead or an admin only); a part over the size limits is left out of the
stored message with the reason "too large" (the raw mail still holds it).
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

MB = 1_000_000
DEFAULT_FILE_MAX = 10 * MB
DEFAULT_MESSAGE_MAX = 25 * MB
TOO_LARGE = "too large"  # the reason's first words; inbox/views.py knows them too

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
    file: int = DEFAULT_FILE_MAX  # YHTEYS_ATTACHMENT_MAX_BYTES
    message: int = DEFAULT_MESSAGE_MAX  # all stored files of one mail together

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Limits:
        env = os.environ if env is None else env
        file = int(env.get("YHTEYS_ATTACHMENT_MAX_BYTES", str(DEFAULT_FILE_MAX)))
        return cls(file=file, message=max(file, DEFAULT_MESSAGE_MAX))


@dataclass(frozen=True)
class Verdict:
    content_type: str
    quarantine: str | None = None  # why a counsellor may not open it


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
            return Verdict(kind, "an Office document with macros (vbaProject.bin)")
        try:
            types = archive.read(names[lower.index("[content_types].xml")])[:200_000]
        except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, EOFError, ValueError):
            types = b""
        if b"macroEnabled" in types:
            return Verdict(kind, "an Office document with macros (macro-enabled content type)")
        return Verdict(kind)
    if lower and lower[0] == "mimetype":
        try:
            kind = archive.read(names[0])[:100].decode("ascii").strip() or "application/zip"
        except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, EOFError, ValueError,
                UnicodeDecodeError):
            kind = "application/vnd.oasis.opendocument"
        if any(n.startswith(("basic/", "scripts/")) for n in lower):
            return Verdict(kind, "an OpenDocument file with macros (Basic or scripts)")
        return Verdict(kind)
    if any(i.flag_bits & 0x1 for i in infos):
        return Verdict("application/zip", "an encrypted archive: its contents cannot be checked")
    inside = next((n for n in names if _suffix(n) in PROGRAM_SUFFIXES | MACRO_SUFFIXES), None)
    if inside is not None:
        return Verdict("application/zip", f"an archive holding a program or macro file "
                                          f"({inside.rsplit('/', 1)[-1][:100]})")
    return Verdict("application/zip")


def _ole2(data: bytes) -> Verdict:
    kind = next((t for entry, t in OLE2_KINDS if entry.encode("utf-16-le") in data),
                "application/x-ole-storage")
    if "_VBA_PROJECT".encode("utf-16-le") in data or b"_VBA_PROJECT" in data:
        return Verdict(kind, "an Office document with macros (VBA project)")
    return Verdict(kind)


def sniff(data: bytes) -> Verdict:
    """The type the bytes are, and a reason to hold them when they can run."""
    if _pe_or_dos(data):
        return Verdict("application/x-msdownload", "a Windows program (PE/MZ executable)")
    if data.startswith(b"\x7fELF"):
        return Verdict("application/x-executable", "a Linux program (ELF executable)")
    if data.startswith(MACHO):
        return Verdict("application/x-mach-binary", "a macOS program (Mach-O executable)")
    if data.startswith(b"\xca\xfe\xba\xbe"):
        return Verdict("application/java-vm", "a program (Mach-O universal or Java class)")
    if data.startswith(LNK):
        return Verdict("application/x-ms-shortcut", "a Windows shortcut (.lnk) that runs a command")
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
        return Verdict("text/x-script", "a script (#! line)")
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
                           f"{verdict.quarantine}, named {suffix} to look like something else")
        return verdict
    suffix = _suffix(filename)
    if suffix in PROGRAM_SUFFIXES:
        return Verdict(verdict.content_type, f"a file that runs when opened ({suffix})")
    if suffix in MACRO_SUFFIXES:
        return Verdict(verdict.content_type, f"an Office document with macros ({suffix})")
    return verdict


def too_large(size: int, limit: int, per: str) -> str:
    return f"{TOO_LARGE}: {size / MB:.1f} MB, over the limit of {limit / MB:g} MB {per}"
