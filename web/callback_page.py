"""GET /callback: the residents' callback form (soittopyyntö, återuppringning).

The page renders the partial `_callback_form.html` and runs `static/callback-form.js`; the
chat widget's offline callback view renders the same partial and runs the same script, so
both send one request shape to `POST /api/v1/callbacks` (channels/phone) and take their
call windows from `GET /api/v1/callbacks/windows`. Every word comes from the catalogs: the
page's from gettext, the script's from the browser catalog embedded in the page.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp_jinja2
from aiohttp import web

from web.i18n import LANGUAGES, Catalogs, request_language
from web.widget import LANGUAGE_NAMES, TOPICS

# As strict as every page: scripts and styles from our origin only, never framed.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")


@dataclass
class CallbackPage:
    catalogs: Catalogs
    privacy_url: str

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/callback", self.page)]

    async def page(self, request: web.Request) -> web.Response:
        lang = request_language(request.query.get("lang"), request.headers.get("Accept-Language"))
        # The partial needs what the chat panel's context has too: topics, languages,
        # privacy_url and the browser catalog (i18n).
        response = aiohttp_jinja2.render_template("callback.html", request, {
            **self.catalogs.for_language(lang), "topics": TOPICS,
            "privacy_url": self.privacy_url, "i18n": self.catalogs.browser[lang],
            "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            "translators": [(code, self.catalogs.for_language(code)["_"])  # the page's first
                            for code in sorted(LANGUAGES, key=lambda code: code != lang)]})
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Content-Language"] = lang
        response.headers["Vary"] = "Accept-Language"
        return response
