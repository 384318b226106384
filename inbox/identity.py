"""Finnish personal identity codes (henkilötunnus): found, validated with python-stdnum,
kept only as keyed hashes, and redacted from every stored text a person reads.

The domain owns this rule so that each writer of readable text applies the same one.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from stdnum.fi import hetu

# Not \b: in a file name such as hakemus_131052-308T.pdf the code follows an underscore.
HETU_PATTERN = re.compile(r"(?<![0-9A-Za-z])\d{6}[-+ABCDEFUVWXY]\d{3}[0-9A-Y](?![0-9A-Za-z])",
                          re.IGNORECASE)
HETU_PLACEHOLDER = "[henkilötunnus]"


def hetu_digest(code: str, key: bytes) -> str:
    return hmac.new(key, hetu.compact(code).encode(), hashlib.sha256).hexdigest()


def find_identity_codes(text: str) -> list[str]:
    return [m.group(0) for m in HETU_PATTERN.finditer(text) if hetu.is_valid(m.group(0))]


def redact_identity_codes(text: str) -> str:
    """Identity codes are stored only as keyed hashes, never as text."""
    return HETU_PATTERN.sub(
        lambda m: HETU_PLACEHOLDER if hetu.is_valid(m.group(0)) else m.group(0), text
    )


def redacted(text: str | None) -> str | None:
    return redact_identity_codes(text) if text else text
