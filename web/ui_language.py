"""Which language the counsellor UI speaks to this request."""

from __future__ import annotations

from aiohttp import web

UI_LANGUAGES = ("fi", "sv", "en")


def ui_language(request: web.Request) -> str:
    """`?lang=sv|en` when given, else Finnish."""
    lang = request.query.get("lang", "fi")
    return lang if lang in UI_LANGUAGES else "fi"
