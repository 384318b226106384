"""The counsellor's side of a live chat, in a real browser (Debian's chromium): the routing
panel in Finnish, the resident online / typing / gone, and a transfer with a note that the
resident is told about and the new counsellor sees live. The resident is a socket.io client.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import socketio
from playwright.async_api import Browser, Page, Request, ViewportSize, expect

from tests.conftest import Service
from tests.e2e.conftest import Watch, staff_login
from tests.e2e.widget_site import axe

pytestmark = pytest.mark.browser

TIMEOUT = 10_000  # ms, for every wait on something the server pushes
PASSWORD = "kontula-korttelit-2024"
QUESTION = "Vuokranantaja uhkaa häädöllä, mitä voin tehdä?"
NOTE = "Asukas muuttaa Kallioon ensi viikolla; jatka sinä. Häätöuhka, ei vielä tuomiota."
SCREENSHOTS = os.environ.get("YHTEYS_SCREENSHOTS")  # a folder: also save screenshots there


class Resident:
    """A resident's chat client (the widget's protocol) that records what the server pushes."""

    def __init__(self, service: Service):
        self.service = service
        self.client = socketio.AsyncClient(reconnection=False)
        self.pushed: dict[str, list[dict[str, Any]]] = {"message": [], "status": [],
                                                        "typing": []}
        for name, items in self.pushed.items():
            self.client.on(name, self._recorder(items), namespace="/chat")

    @staticmethod
    def _recorder(items: list[dict[str, Any]]) -> Any:
        async def record(data: dict[str, Any]) -> None:
            items.append(data)
        return record

    async def connect(self) -> None:
        await self.client.connect(self.service.url, namespaces=["/chat"],
                                  transports=["websocket"],
                                  headers={"Origin": self.service.url})

    async def call(self, event: str, data: Any) -> dict[str, Any]:
        return await self.client.call(event, data, namespace="/chat", timeout=10)

    async def emit(self, event: str, data: Any = None) -> None:
        await self.client.emit(event, data or {}, namespace="/chat")

    async def wait_for(self, kind: str, until: Any, timeout: float = 10) -> dict[str, Any]:
        for _ in range(int(timeout / 0.05)):
            for item in self.pushed[kind]:
                if until(item):
                    return item
            await asyncio.sleep(0.05)
        raise AssertionError(f"no such {kind} among {self.pushed[kind]}")

    async def close(self) -> None:
        await self.client.disconnect()


async def log_in(browser: Browser, service: Service, email: str, watch: Watch,
                 problems: list[str], viewport: ViewportSize | None = None) -> Page:
    context = await browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
    page = await context.new_page()
    problems += await watch(page, email)
    return await staff_login(page, service.url, email, PASSWORD)


async def screenshots(page: Page, browser: Browser, service: Service, watch: Watch,
                      problems: list[str]) -> None:
    """With YHTEYS_SCREENSHOTS set: the contact page on a desktop and on a phone."""
    if not SCREENSHOTS:
        return
    await page.screenshot(path=str(Path(SCREENSHOTS) / "contact-chat.png"), full_page=True)
    phone = await log_in(browser, service, "irma@hel.fi", watch, problems,
                         viewport={"width": 390, "height": 844})
    await phone.goto(page.url)
    await expect(phone.get_by_role("status").filter(has_text="Asukas")).to_have_text(
        "Asukas on paikalla")
    await phone.screenshot(path=str(Path(SCREENSHOTS) / "contact-chat-mobile.png"),
                           full_page=True)
    await phone.context.close()


async def test_counsellor_sees_the_resident_live_and_transfers_the_chat(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    irma = service.add_staff("irma@hel.fi", ["itainen"], password=PASSWORD,
                             name="Irma Itäinen")
    service.add_staff("ella@hel.fi", ["etelainen"], password=PASSWORD, name="Ella Eteläinen")
    problems: list[str] = []

    # Ella waits on her inbox: the transfer must reach her live.
    ella = await log_in(browser, service, "ella@hel.fi", watch, problems)

    resident = Resident(service)
    await resident.connect()
    started = await resident.call("start", {
        "client_id": str(uuid.uuid4()), "language": "fi", "postal_code": "00940",
        "text": QUESTION, "name": "Aino", "email": "aino@example.fi"})
    assert "token" in started, started
    [contact] = await service.wait_contacts(irma, 1)
    url = f"{service.url}/contacts/{contact['id']}"

    # Irma opens the contact: why it came to her, in Finnish; the resident is there.
    page = await log_in(browser, service, "irma@hel.fi", watch, problems)
    refreshes: list[str] = []

    def on_request(request: Request) -> None:
        if request.resource_type == "fetch" and "/contacts/" in request.url:
            refreshes.append(request.url)

    async with page.expect_response(lambda r: r.request.resource_type == "fetch"
                                    and r.url == url):
        await page.goto(url)  # the page catches up once its socket has joined its rooms
    page.on("request", on_request)
    routing = page.locator("#routing")
    await expect(routing).to_contain_text("annettu postinumero 00940")
    await expect(routing).to_contain_text("Sijainti")
    await expect(routing.locator(".routing-summary")).to_contain_text("Itäinen")
    assert "postal code" not in (await routing.inner_text()).lower()
    facts = page.locator("#facts")
    await expect(facts).to_contain_text("Suomi")
    await expect(facts).to_contain_text("aino@example.fi")
    await expect(facts).to_contain_text("ei varmistettu")
    presence = page.get_by_role("status").filter(has_text="Asukas")
    await expect(presence).to_have_text("Asukas on paikalla")

    # The resident types: shown, then fades back to "online" — and no page refresh.
    await resident.emit("typing")
    await expect(presence).to_have_text("Asukas kirjoittaa…")
    await expect(presence).to_have_text("Asukas on paikalla")

    # Irma types a reply: the resident is told that the counsellor is writing.
    await page.get_by_label(re.compile("^Vastaus")).press_sequentially("Hei Aino")
    typing = await resident.wait_for("typing", lambda t: True)
    assert typing["name"] == "Irma"

    # The resident leaves; then comes back to the same chat.
    await resident.close()
    await expect(presence).to_have_text("Asukas on poistunut")
    resident = Resident(service)
    await resident.connect()
    resumed = await resident.call("resume", {"token": started["token"], "last_seen_id": 0})
    assert resumed.get("ended") is False, resumed
    await expect(presence).to_have_text("Asukas on paikalla")
    assert refreshes == [], f"presence/typing events refreshed the page: {refreshes}"

    # A transfer without a note is refused on the page, in words, keeping what was chosen.
    await page.get_by_text("Siirrä toiselle neuvojalle tai alueelle").click()
    await page.get_by_label("Neuvoja").select_option(label="Ella Eteläinen (Eteläinen)")
    await screenshots(page, browser, service, watch, problems)
    problems += await axe(page, "contact page, transfer form open")
    async with page.expect_response(lambda r: r.request.method == "POST") as refused:
        await page.get_by_role("button", name="Siirrä", exact=True).click()
    assert (await refused.value).status == 400
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Kirjoita viesti")
    await expect(page.get_by_label("Viesti vastaanottajalle")).to_be_focused()
    await expect(page.get_by_label("Neuvoja")).to_have_value(re.compile(r"^\d+$"))

    # To Ella alone: she does not work in this area; the page says what to do.
    await page.get_by_label("Viesti vastaanottajalle").fill(NOTE)
    async with page.expect_response(lambda r: r.request.method == "POST") as conflict:
        await page.get_by_role("button", name="Siirrä", exact=True).click()
    assert (await conflict.value).status == 409
    await expect(alert).to_contain_text("Ella Eteläinen ei työskentele")
    await expect(page.get_by_label("Viesti vastaanottajalle")).to_have_value(NOTE)
    problems += await axe(page, "contact page, transfer refused")

    # With her area: done. Irma no longer sees the contact and is told so.
    await page.locator("#transfer").get_by_label("Alue").select_option("etelainen")
    await page.get_by_role("button", name="Siirrä", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/inbox\?transferred=\d+$"))
    await expect(page.get_by_role("status").filter(has_text="siirretty")).to_be_visible()
    problems += await axe(page, "inbox after a transfer")

    # The resident is told, in their status, that the chat was moved.
    moved = await resident.wait_for("status", lambda s: s.get("event") == "transferred")
    assert moved["state"] in ("queued", "offline"), moved

    # Ella sees it arrive live, and why: the transfer is a step with Irma's note.
    row = ella.locator("#contacts tbody tr", has_text=QUESTION)
    await expect(row).to_be_visible()
    await expect(row.locator(".routing-summary")).to_contain_text(
        "Eteläinen: Siirsi Irma Itäinen → Ella Eteläinen")
    await row.get_by_role("link").first.click()
    await expect(ella).to_have_url(re.compile(r"/contacts/\d+$"))
    step = ella.locator("#routing .step--transfer")
    await expect(step).to_contain_text("Siirto")
    await expect(step).to_contain_text("Irma Itäinen")
    await expect(step).to_contain_text(NOTE)
    await expect(ella.locator("#assignee")).to_have_text("Ella Eteläinen")
    await expect(ella.get_by_role("status").filter(has_text="Asukas")).to_have_text(
        "Asukas on paikalla")

    await resident.close()
    await expect(ella.get_by_role("status").filter(has_text="Asukas")).to_have_text(
        "Asukas on poistunut")
    assert not problems, "\n".join(problems)


async def test_ended_chat_and_routing_in_another_language(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    irma = service.add_staff("irma@hel.fi", ["itainen"], password=PASSWORD,
                             name="Irma Itäinen")
    problems: list[str] = []
    resident = Resident(service)
    await resident.connect()
    await resident.call("start", {"client_id": str(uuid.uuid4()), "language": "sv",
                                  "postal_code": "00940", "text": "Hyran är obetald"})
    [contact] = await service.wait_contacts(irma, 1)
    page = await log_in(browser, service, "irma@hel.fi", watch, problems)
    await page.goto(f"{service.url}/contacts/{contact['id']}")
    presence = page.get_by_role("status").filter(has_text="Asukas")
    await expect(presence).to_have_text("Asukas on paikalla")
    await expect(page.locator("#facts")).to_contain_text("Svenska")

    # The resident ends the chat: the page says so live (a contact.updated refresh).
    assert (await resident.call("end", {})).get("ok") is True
    await expect(presence).to_have_text("Asukas lopetti chatin")
    await expect(page.locator("#chat-state")).to_contain_text("Asukas lopetti chatin")
    await resident.close()
    await expect(presence).to_have_text("Asukas lopetti chatin")  # not "gone" after ending

    # A note with a NUL (a hand-made post) is refused in words; nothing is stored.
    csrf = await page.locator("body").get_attribute("data-csrf")
    refused = await page.request.post(
        f"{service.url}/contacts/{contact['id']}/transfer",
        form={"csrf_token": csrf or "", "to_area": "koillinen", "note": "a\x00b"},
        headers={"Origin": service.url, "Accept": "text/html"})
    assert refused.status == 400
    assert "ei voi tallentaa" in await refused.text()
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", irma)
    assert detail["area"] == "itainen"

    # ?lang=sv renders the routing in Swedish (as the rest of the page).
    await page.goto(f"{service.url}/contacts/{contact['id']}?lang=sv")
    await expect(page.locator("#routing")).not_to_contain_text("annettu postinumero")
    await expect(page.locator("#routing")).to_contain_text("angivet postnummer 00940")
    assert not problems, "\n".join(problems)


async def test_a_lead_transfers_and_stays_on_the_contact(
        service: Service, browser: Browser, watch: Watch) -> None:
    """A lead sees every area: after the transfer the page comes back, saying it was done;
    `?lang=sv` is kept, so the new step is in Swedish too."""
    expect.set_options(timeout=TIMEOUT)
    lead = service.add_staff("leena@hel.fi", [], role="lead", password=PASSWORD,
                             name="Leena Lähiesihenkilö")
    problems: list[str] = []
    resident = Resident(service)
    await resident.connect()
    await resident.call("start", {"client_id": str(uuid.uuid4()), "language": "en",
                                  "postal_code": "00940", "text": "My rent is late"})
    [contact] = await service.wait_contacts(lead, 1)
    page = await log_in(browser, service, "leena@hel.fi", watch, problems)
    await page.goto(f"{service.url}/contacts/{contact['id']}?lang=sv")
    await expect(page.locator("#facts")).to_contain_text("English")
    await page.get_by_text("Överför till en annan rådgivare eller ett annat område").press(
        "Enter")
    await page.locator("#transfer").get_by_label("Område").select_option("koillinen")
    await page.get_by_label("Meddelande till mottagaren").fill("Koillisen asia")
    await page.get_by_label("Meddelande till mottagaren").press("Tab")
    await page.keyboard.press("Enter")  # the Överför button, from the keyboard
    await expect(page).to_have_url(re.compile(r"/contacts/\d+\?lang=sv&transferred=1$"))
    await expect(page.get_by_role("status").filter(has_text="Överförd")).to_be_visible()
    step = page.locator("#routing .step--transfer")
    await expect(step).to_contain_text("Överföring")
    await expect(step).to_contain_text(
        "Flyttad av Leena Lähiesihenkilö → Nordöstra: Koillisen asia")
    await expect(page.locator("#facts")).to_contain_text("Nordöstra")
    await resident.wait_for("status", lambda s: s.get("event") == "transferred")
    await resident.close()
    assert not problems, "\n".join(problems)
