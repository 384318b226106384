"""What the phone channel says to a resident, in their language: call windows and when
to expect the call. Sentences come from the catalogs (`phone.po`); dates from Babel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
from aiohttp import web
from babel.dates import format_date, format_time

from inbox.callbacks import Window
from inbox.hours import HELSINKI, OpeningHours

Words = Callable[..., str]  # (lang, key, **params) -> the sentence
DAY = {"fi": "cccc d.M.", "sv": "EEEE d MMMM", "en": "EEEE d MMMM"}
TIME = {"fi": "H.mm", "sv": "H.mm", "en": "H:mm"}


@dataclass(frozen=True)
class Speaker:
    words: Words
    request_language: Callable[[object, str | None], str]

    def language(self, request: web.Request) -> str:
        return self.request_language(request.query.get("lang"),
                                     request.headers.get("Accept-Language"))

    def _parts(self, lang: str, start: datetime, end: datetime | None = None) -> dict[str, Any]:
        start = start.astimezone(HELSINKI)
        parts = {"day": format_date(start.date(), DAY[lang], locale=lang),
                 "start": format_time(start.time(), TIME[lang], locale=lang)}
        if end is not None:
            parts["end"] = format_time(end.astimezone(HELSINKI).time(), TIME[lang], locale=lang)
        return parts

    def window(self, lang: str, window: Window) -> str:
        return self.words(lang, "callback.window.label",
                          **self._parts(lang, window.start, window.end))

    def expect(self, lang: str, phone: str, window: Window | None, hours: OpeningHours,
               now: datetime) -> str:
        """When to expect the call, in words."""
        shown = phonenumbers.format_number(phonenumbers.parse(phone, None),
                                           phonenumbers.PhoneNumberFormat.NATIONAL
                                           if phone.startswith("+358")
                                           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        if window is not None:
            return self.words(lang, "callback.expect.window", phone=shown,
                              **self._parts(lang, window.start, window.end))
        if hours.is_open(now):
            return self.words(lang, "callback.expect.soon", phone=shown)
        opens = hours.opens_at(now)
        if opens is None:
            return self.words(lang, "callback.expect.later", phone=shown)
        return self.words(lang, "callback.expect.when_open", phone=shown,
                          **self._parts(lang, opens))
