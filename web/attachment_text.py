"""Why an attachment is held, or was not stored, in the reader's language.

The reason is stored as a code with parameters (`inbox.attachments.Reason`); the catalogs'
`attachments.po` holds one sentence per code in fi, sv and en (`attachment.<code>`). A
parameter that is itself a reason is rendered first; sizes become "12,5 Mt" / "12.5 MB".
Reasons stored before codes (`legacy`) are shown as they were written.
"""

from __future__ import annotations

from typing import Any

from babel.numbers import format_decimal

from inbox.attachments import LEGACY, MB, Reason
from web.i18n import Catalogs, language

SIZES = ("size", "limit")  # parameters in bytes


def megabytes(size: int, lang: str) -> str:
    """Bytes as megabytes in the reader's notation, at most one decimal: 10, 2,5 (fi)."""
    return format_decimal(size / MB, "#,##0.#", locale=language(lang))


class AttachmentText:
    def __init__(self, catalogs: Catalogs):
        self.catalogs = catalogs

    def size(self, lang: str, size: int) -> str:
        if size >= MB // 10:
            return self.catalogs.gettext(lang, "attachment.unit.mb", n=megabytes(size, lang))
        return self.catalogs.gettext(lang, "attachment.unit.kb", n=format_decimal(
            size / 1000, "#,##0.#", locale=language(lang)))

    def _param(self, lang: str, name: str, value: Any) -> Any:
        if isinstance(value, Reason):
            return self.reason(lang, value)
        if name in SIZES and isinstance(value, int) and not isinstance(value, bool):
            return self.size(lang, value)
        return value

    def reason(self, lang: str, found: Reason) -> str:
        """The sentence for a reason; the code itself if the catalog lacks it."""
        if found.code == LEGACY:
            return str(found.params.get("text", ""))
        key = f"attachment.{found.code}"
        params = {k: self._param(lang, k, v) for k, v in found.params.items()}
        try:
            text = self.catalogs.gettext(lang, key, **params)
        except (KeyError, ValueError, TypeError):  # a parameter the sentence does not know
            return str(found)
        return str(found) if text == key else text

    def message(self, lang: str, message: dict[str, Any]) -> dict[str, Any]:
        """A message JSON whose attachments carry `quarantine_text` in `lang` (the stored
        code object stays in `quarantine_reason`)."""
        for a in message.get("attachments") or []:
            found = Reason.from_json(a.get("quarantine_reason"))
            a["quarantine_text"] = self.reason(lang, found) if found is not None else None
        return message
