"""Mail text rules for fi/sv/en clients: clean subjects, and where quoted history starts.

Pure functions on text, here (not in channels/email) because the message views use them:
`inbox` may not import a channel. mail-parser-reply (PyPI) splits replies but knows no
Finnish and gives no offsets, so these are small rules with tests
(tests/unit/test_mail_parts.py).
"""

from __future__ import annotations

import re

# Reply and forward prefixes: Re/RE, Aw (de), fi VS/VL, sv SV/VB, Fwd/FW/Fw, with a count
# (Re[2]:, Re(2):) and repeated or nested ("Re: VS: Re:"), with ASCII or full-width colons.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|vs|sv|vl|vb|fwd?|tr|wg)\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*)+",
    re.IGNORECASE)

FORWARDED = "---------- Välitetty viesti / Forwarded message ----------"
_FORWARD_LINE = re.compile(
    r"^\s*-{2,}\s*(?:Forwarded message|Välitetty viesti|Vidarebefordrat meddelande|"
    r"Begin forwarded message|Alkuperäinen viesti välitetty)\b.*$|^\s*Begin forwarded message:",
    re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Alkuperäinen viesti|Ursprungligt meddelande|"
    r"Ursprungl\. meddelande)\s*-{2,}|_{10,})\s*$", re.IGNORECASE)
# "On Mon, 3 Nov 2025 at 10.12, Ville <v@hel.fi> wrote:" (Gmail, Apple, Thunderbird);
# "ma 3.11.2025 klo 10.12 Ville <v@hel.fi> kirjoitti:"; "Den mån 3 nov. 2025 … skrev …:".
_ATTRIBUTION = re.compile(
    r"^(?:On\s.{4,300}\bwrote"  # en: starts with On
    r"|.{0,40}\d.{0,300}\bkirjoitti"  # fi: a date first
    r"|(?:Den\s)?.{0,40}\d.{0,300}\bskrev\b.{0,200})\s*:\s*$",  # sv: a date first
    re.IGNORECASE | re.DOTALL)
_FROM_KEYS = ("from", "lähettäjä", "från", "lähettäjä/from")
_DATE_KEYS = ("sent", "date", "lähetetty", "päivämäärä", "skickat", "datum", "päiväys")
_HEADER = re.compile(r"^\s*\**\s*([^\W\d][\w/]{1,19})\s*\**\s*:\**\s*\S", re.UNICODE)


def clean_subject(subject: str | None) -> str | None:
    """'VS: Re: Vuokra' -> 'Vuokra'; None or only prefixes stays None or empty."""
    if subject is None:
        return None
    return _PREFIX.sub("", subject).strip()


def reply_subject(subject: str | None, default: str = "Asumisneuvonta") -> str:
    return f"Re: {clean_subject(subject) or default}"


def _header_key(line: str) -> str | None:
    match = _HEADER.match(line)
    return match.group(1).lower() if match else None


def _header_block(lines: list[str], i: int) -> bool:
    """An Outlook-style block: a From line and a Sent/Date line within a few lines (either
    order: Outlook puts From first, the fi Outlook app often 'Lähetetty:' first)."""
    first = _header_key(lines[i])
    if first not in _FROM_KEYS and first not in _DATE_KEYS:
        return False
    want = _DATE_KEYS if first in _FROM_KEYS else _FROM_KEYS
    for line in lines[i + 1:i + 5]:
        key = _header_key(line)
        if key in want:
            return True
        if key is None and line.strip():
            return False
    return False


def _all_quoted(lines: list[str], i: int) -> bool:
    rest = [line for line in lines[i:] if line.strip()]
    return bool(rest) and all(line.lstrip().startswith(">") for line in rest)


def quoted_from(text: str) -> int | None:
    """The character offset in `text` where quoted history starts, or None.

    History is: an attribution ("On … wrote:", "… kirjoitti:", "… skrev …:"), a separator
    ("-----Original Message-----", "Alkuperäinen viesti", Outlook's underscores), an
    Outlook header block (From/Lähettäjä/Från with Sent/Lähetetty/Skickat/Date), or '>'
    lines that run to the end. Forwarded content (ours or a client's marker) is content,
    not history: nothing from there on is searched. New text must come first (offset > 0).
    """
    lines = text.splitlines(keepends=True)
    starts, at = [], 0
    for line in lines:
        starts.append(at)
        at += len(line)
    bare = [line.rstrip("\r\n") for line in lines]
    for i, line in enumerate(bare):
        if line.strip() == FORWARDED or _FORWARD_LINE.match(line):
            return None
        found: int | None = None
        if _SEPARATOR.match(line) or _header_block(bare, i):
            found = i
        elif _attribution(line):
            found = i
        elif (i + 1 < len(bare) and line.strip() and _attribution(f"{line} {bare[i + 1]}")
              and not _attribution(bare[i + 1])):
            found = i  # an attribution the client wrapped onto two lines
        elif line.lstrip().startswith(">") and _all_quoted(bare, i):
            found = i
        if found is not None:
            return starts[found] if _has_new_text(bare[:found]) else None
    return None


def _attribution(line: str) -> bool:
    lower = line.lower()
    return (len(line) < 600 and ("wrote" in lower or "kirjoitti" in lower or "skrev" in lower)
            and _ATTRIBUTION.match(line.strip()) is not None)


def _has_new_text(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)
