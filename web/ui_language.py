"""Which language the counsellor UI speaks to this request.

A `?lang=` link asks for one language on purpose, so it wins; then the staff member's own
choice (the header's language picker stores it on their staff row, so it holds in every
session); then what their browser asks for (Accept-Language); then Finnish.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web
from yarl import URL

from web.auth import PRINCIPAL
from web.i18n import LANGUAGES, negotiate

UI_LANGUAGES = LANGUAGES


def asked_language(request: web.Request) -> str | None:
    """The language a `?lang=` link asks for, when it is one of ours."""
    lang = request.query.get("lang")
    return lang if lang in UI_LANGUAGES else None


def ui_language(request: web.Request) -> str:
    """`?lang=` > the signed-in staff member's choice > Accept-Language > Finnish."""
    asked = asked_language(request)
    if asked is not None:
        return asked
    who = request.get(PRINCIPAL)
    if who is not None and who.ui_language in UI_LANGUAGES:
        return who.ui_language
    return negotiate(request.headers.get("Accept-Language"), UI_LANGUAGES)


def ui_context(request: web.Request) -> dict[str, str]:
    """`ui_lang` for a page; `lang_query` keeps a `?lang=` that was asked for on the links
    and forms that carry it (a stored choice needs none); `here` is the page, for the
    language picker to come back to."""
    asked = asked_language(request)
    return {"ui_lang": ui_language(request), "lang_query": f"?lang={asked}" if asked else "",
            "here": _page(request)}


def _page(request: web.Request) -> str:
    """The address of the page shown. A page that answers a form (a refusal shown at its
    field) has a POST address: the page the form was on is the one to come back to."""
    if request.method in ("GET", "HEAD"):
        return request.path_qs
    referer = URL(request.headers.get("Referer", ""))
    if referer.is_absolute() and referer.origin() == request.url.origin():
        return referer.path_qs
    return ""


def local_path(target: str | None, default: str = "/") -> str:
    """Only a path of this site, so a form cannot be used to send anyone elsewhere."""
    if not target or not target.isprintable() or "\\" in target:
        return default
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not parts.path.startswith("/")
            or parts.path.startswith("//")):
        return default
    return target


def without_lang(path: str) -> str:
    """The path with any `?lang=` taken out, so that a newly chosen language shows."""
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
    return urlunsplit(("", "", parts.path, urlencode(query), ""))
