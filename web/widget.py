"""The resident's chat: the hel.fi loader (/widget.js), the framed chat (/widget), /chat."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp_jinja2
from aiohttp import web

from web.i18n import Catalogs, language


@dataclass
class WidgetPages:
    catalogs: Catalogs
    widget_origins: tuple[str, ...]
    privacy_url: str

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/chat", self.chat)]

    async def chat(self, request: web.Request) -> web.Response:
        lang = language(request.query.get("lang"))
        return aiohttp_jinja2.render_template(
            "chat.html", request, {"who": None, **self.catalogs.for_language(lang)})
