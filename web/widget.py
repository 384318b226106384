"""The resident's chat: the hel.fi loader (/widget.js), the framed chat (/widget), /chat.

The frame and the stand-alone page render one partial (`_chat_panel.html`) and run one
client (`static/chat-client.js`); only the frame may be framed, and only by the sites in
`widget_origins` (CSP frame-ancestors), so every other page keeps frame-ancestors 'none'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from web.i18n import LANGUAGES, Catalogs, language, negotiate

STATIC = Path(__file__).parent / "static"
MAX_TEXT = 4000  # the chat's message limit (channels/chat says the same to the server)
LANGUAGE_NAMES = {"fi": "Suomi", "sv": "Svenska", "en": "English"}


def N_(message: str) -> str:
    """Marks a message id for extraction (pybabel -k N_); translated where it is shown."""
    return message


# The reason taxonomy (config.reference_data.REASONS) in a resident's words.
TOPICS: tuple[tuple[int, str], ...] = (
    (1, N_("Paying the rent")),
    (2, N_("Rent arrears")),
    (3, N_("Disturbance")),
    (4, N_("Poor care of the home")),
    (5, N_("Exchanging or finding a home")),
    (6, N_("A crisis")),
    (7, N_("Cultural conflict")),
    (10, N_("Threat of homelessness")),
    (11, N_("Damp, mould or other health problem in the home")),
    (12, N_("Eviction")),
    (13, N_("Working out my housing situation or support")),
    (14, N_("Rent too high for my income")),
)
TOPIC_CODES = frozenset(code for code, _ in TOPICS)


def frame_csp(widget_origins: tuple[str, ...]) -> str:
    """The frame's own CSP: as strict as every page, but framable by the listed sites."""
    ancestors = " ".join(widget_origins) if widget_origins else "'none'"
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
            f"frame-ancestors {ancestors}")


def _topic(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and int(value) in TOPIC_CODES else None


@dataclass
class WidgetPages:
    catalogs: Catalogs
    widget_origins: tuple[str, ...]
    privacy_url: str

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/widget.js", self.loader), web.get("/widget", self.widget),
                web.get("/chat", self.chat)]

    async def loader(self, request: web.Request) -> web.StreamResponse:
        """Static and cacheable: the same bytes for every host page."""
        response = web.FileResponse(STATIC / "widget.js", headers={
            "Content-Type": "text/javascript; charset=utf-8",
            "Cache-Control": "public, max-age=3600",
            "Cross-Origin-Resource-Policy": "cross-origin"})
        return response

    def _context(self, request: web.Request, lang: str, **extra: Any) -> dict[str, Any]:
        return {**self.catalogs.for_language(lang), "who": None, "topics": TOPICS,
                "topic": _topic(request.query.get("topic")), "max_text": MAX_TEXT,
                "privacy_url": self.privacy_url, "i18n": self.catalogs.browser[lang],
                "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES], **extra}

    async def widget(self, request: web.Request) -> web.Response:
        lang = language(request.query.get("lang"))
        host = request.query.get("host", "").rstrip("/")
        host = host if host in self.widget_origins else ""
        query = {"topic": request.query.get("topic", ""), "host": host}
        response = aiohttp_jinja2.render_template(
            "widget.html", request,
            self._context(request, lang, host=host, page="/widget",
                          keep={k: v for k, v in query.items() if v}))
        response.headers["Content-Security-Policy"] = frame_csp(self.widget_origins)
        return response

    async def chat(self, request: web.Request) -> web.Response:
        lang = request.query.get("lang")
        lang = language(lang) if lang else negotiate(request.headers.get("Accept-Language"))
        return aiohttp_jinja2.render_template(
            "chat.html", request, self._context(request, lang, host="", page="/chat", keep={}))
