"""Personal data at rest: raw mail and attachment bytes sealed with AES-GCM.

Stored values are `enc:aesgcm:<key id>:<12-byte nonce><ciphertext+tag>` (as Sentry prefixes
its encrypted fields), so keys can rotate: new writes use the current key, reads find the
key by its id among the current and the retired ones. The keys are derived from
`YHTEYS_SECRET_KEY` (and retired secrets) with HKDF; a fresh random nonce per value; the
associated data names what the bytes are, so a value cannot be moved to another column.
Decryption that fails raises: the ciphertext is never handed out as if it were data.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = b"enc:aesgcm:"
RAW_BYTES = b"raw_inbound.data"  # the purposes sealed bytes are bound to (associated data)
ATTACHMENT_BYTES = b"attachments.data"


class SealError(ValueError):
    """Bytes that claim to be sealed but do not open with any key we hold."""


def _derive(secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"yhteys-at-rest",
                info=b"aesgcm v1").derive(secret)


class Sealer:
    def __init__(self, secret: bytes, retired: Iterable[bytes] = ()):
        keys = [_derive(secret), *(_derive(r) for r in retired)]
        self.keys = {self._key_id(k): AESGCM(k) for k in keys}
        self.current = self._key_id(keys[0])

    @staticmethod
    def _key_id(key: bytes) -> bytes:
        return hashlib.sha256(key).hexdigest()[:8].encode()

    def seal(self, data: bytes, purpose: bytes) -> bytes:
        nonce = os.urandom(12)
        sealed = self.keys[self.current].encrypt(nonce, data, purpose)
        return PREFIX + self.current + b":" + nonce + sealed

    def open(self, value: bytes, purpose: bytes) -> bytes:
        """The plain bytes; values written before sealing existed pass through as they are
        (`seal_legacy` on start seals them)."""
        if not value.startswith(PREFIX):
            return value
        key_id, _, rest = value[len(PREFIX):].partition(b":")
        key = self.keys.get(key_id)
        if key is None or len(rest) < 28:
            raise SealError(f"sealed with an unknown key {key_id.decode(errors='replace')}")
        try:
            return key.decrypt(rest[:12], rest[12:], purpose)
        except Exception as exc:  # InvalidTag: tampered, or the wrong purpose
            raise SealError("sealed bytes do not open (tampered or misplaced)") from exc

    def is_current(self, value: bytes) -> bool:
        return value.startswith(PREFIX + self.current + b":")
