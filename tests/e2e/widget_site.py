"""A stand-in for hel.fi in the widget tests: a page on ANOTHER origin (its own aiohttp server
on a free loopback port) that embeds /widget.js with one tag, under a strict CSP of its own.
Plus the steps every widget test takes: open the widget, start a chat, run axe-core."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from playwright.async_api import Frame, FrameLocator, Locator, Page, expect

from tests.conftest import ROOT, free_port

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LAUNCHER = {"fi": "Kysy asumisneuvojalta", "sv": "Fråga bostadsrådgivningen",
            "en": "Ask a housing counsellor"}
HOST_CSS = "body { font-family: Arial, sans-serif; margin: 2rem; max-width: 40rem; }\n"


@dataclass
class HostSite:
    """hel.fi's page for the test: the script tag, a CSP without 'unsafe-inline'."""

    service_url: str
    port: int = field(default_factory=free_port)
    lang: str = "sv"
    topic: str = "2"
    extra: str = ""  # more HTML for the body (e.g. a foreign iframe)
    runner: web.AppRunner | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def html(self) -> str:
        return (f'<!doctype html><html lang="{self.lang}"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                '<title>Asumisneuvonta | hel.fi</title><link rel="stylesheet" href="/host.css">'
                '</head><body><main><h1>Asumisneuvonta</h1>'
                '<p>Neuvontaa vuokra-asumisen ongelmiin.</p>'
                f'<p><a href="/">Etusivu</a></p></main>{self.extra}'
                f'<script src="{self.service_url}/widget.js" data-lang="{self.lang}" '
                f'data-topic="{self.topic}" async></script></body></html>')

    async def start(self) -> HostSite:
        csp = (f"default-src 'self'; script-src 'self' {self.service_url}; "
               f"frame-src {self.service_url} http://127.0.0.1:*; style-src 'self'")

        async def page(request: web.Request) -> web.Response:
            return web.Response(text=self.html(), content_type="text/html",
                                headers={"Content-Security-Policy": csp})

        async def css(request: web.Request) -> web.Response:
            return web.Response(text=HOST_CSS, content_type="text/css")

        async def poster(request: web.Request) -> web.Response:
            """A foreign page: its script posts to its parent and to the widget's frame."""
            return web.Response(text="<!doctype html><title>x</title><script src='/poster.js'>"
                                "</script>", content_type="text/html")

        async def poster_js(request: web.Request) -> web.Response:
            return web.Response(text=POSTER_JS, content_type="text/javascript")

        async def favicon(request: web.Request) -> web.Response:
            return web.Response(status=204)

        app = web.Application()
        app.add_routes([web.get("/", page), web.get("/host.css", css),
                        web.get("/favicon.ico", favicon),
                        web.get("/poster", poster), web.get("/poster.js", poster_js)])
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


# On a foreign origin: when told, posts "open" to the widget's frame and "close" to the parent.
POSTER_JS = """
window.addEventListener("message", (e) => {
  if (e.data !== "go") return;
  for (let i = 0; i < parent.frames.length; i++) {
    if (parent.frames[i] !== window) parent.frames[i].postMessage({type: "yhteys:open"}, "*");
  }
  parent.postMessage({type: "yhteys:close"}, "*");
});
"""


def launcher(page: Page, lang: str) -> Locator:
    return page.get_by_role("button", name=LAUNCHER[lang])


def chat_frame(page: Page) -> FrameLocator:
    return page.frame_locator("#yhteys-chat-widget iframe")


def widget_frame(page: Page) -> Frame:
    """The widget's Frame (for evaluate); call after the iframe exists."""
    for frame in page.frames:
        if "/widget?" in frame.url:
            return frame
    raise AssertionError(f"no widget frame in {[f.url for f in page.frames]}")


async def open_widget(page: Page, site: HostSite) -> FrameLocator:
    await page.goto(site.origin + "/")
    await launcher(page, site.lang).click()
    frame = chat_frame(page)
    await expect(frame.locator("#yh-start")).to_be_visible()
    return frame


async def start_chat(frame: FrameLocator | Page, postal: str, text: str,
                     labels: dict[str, str]) -> None:
    form = frame.locator("#yh-start")
    await form.get_by_label(labels["postal"], exact=True).fill(postal)
    await form.get_by_label(labels["first"]).fill(text)
    await frame.locator("#yh-start-button").click()
    mine = frame.locator("#yh-log li[data-sender=resident]:not(.is-sending) .yh-message__text")
    await expect(mine).to_have_text([text])
    await expect(frame.locator("#yh-send")).to_be_visible()


LABELS = {
    "fi": {"postal": "Postinumero", "first": "Miten voimme auttaa?", "message": "Viesti"},
    "sv": {"postal": "Postnummer", "first": "Hur kan vi hjälpa dig?", "message": "Meddelande"},
    "en": {"postal": "Postal code", "first": "How can we help?", "message": "Message"},
}


async def axe(target: Page | Frame, label: str) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations in one document, as readable lines."""
    if not await target.evaluate("typeof window.axe !== 'undefined'"):
        await target.evaluate(Path(AXE).read_text("utf-8"))
    result: dict[str, Any] = await target.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, iframes: false})"
        ".then(r => ({violations: r.violations.map(v => ({id: v.id, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)}))}))",
        AXE_TAGS)
    return [f"{label}: {v['id']} ({v['help']}): {json.dumps(v['nodes'], ensure_ascii=False)}"
            for v in result["violations"]]
