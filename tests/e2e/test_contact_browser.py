"""Working a contact in a real browser (Debian's chromium): a counsellor picks a reply
template — inserted where the cursor is, the resident's first name, her own name and the
opening hours filled in, nothing sent until she sends it —, adds an internal note and
sees it marked as one, and corrects the routing (a refusal answered at its field first);
a lead keeps the templates on /templates. axe-core finds no WCAG 2.1 A/AA violation on
the contact page (every panel open) and on /templates, in Finnish, Swedish and English, at
1280 px and at a phone's 390 px (which never scrolls sideways). With YHTEYS_SCREENSHOTS
set, screenshots go there."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Request, ViewportSize, expect

from tests.conftest import Service
from tests.e2e.conftest import STAFF_PASSWORD, Watch, staff_login
from tests.e2e.widget_site import axe
from tests.integration.test_email import mail, send

pytestmark = pytest.mark.browser

TIMEOUT = 10_000
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
SCREENSHOTS = os.environ.get("YHTEYS_SCREENSHOTS")
TEMPLATE = ("Hei {first_name}, kiitos viestistäsi. Palvelemme {opening_hours}.\n"
            "Ystävällisin terveisin {counsellor}")
FILLED = ("Hei Aino, kiitos viestistäsi. Palvelemme ma\u2013pe 9.00\u201315.00.\n"
          "Ystävällisin terveisin Irma Itäinen")
WORDS = {  # what each language calls the parts the test opens
    "fi": ("Korjaa ohjaus", "Siirrä toiselle neuvojalle tai alueelle", "Kirjaa puhelu",
           "Lisää uusi pohja"),
    "sv": ("Rätta styrningen", "Överför till en annan rådgivare eller ett annat område",
           "Registrera samtal", "Lägg till en mall"),
    "en": ("Correct the routing", "Transfer to another counsellor or area", "Log a call",
           "Add a template"),
}


async def shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


async def signed_in(browser: Browser, service: Service, watch: Watch, problems: list[str],
                    email: str, viewport: ViewportSize = DESKTOP) -> Page:
    page = await (await browser.new_context(viewport=viewport)).new_page()
    problems += await watch(page, f"{email} {viewport['width']}px")
    return await staff_login(page, service.url, email, STAFF_PASSWORD)


async def open_panels(page: Page) -> None:
    await page.evaluate("document.querySelectorAll('main details')"
                        ".forEach((d) => { d.open = true; })")


async def test_a_counsellor_works_a_contact_with_a_template_a_note_and_a_correction(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=TIMEOUT)
    service.add_staff("irma@hel.fi", ["itainen"], password=STAFF_PASSWORD, name="Irma Itäinen")
    lead = service.add_staff("lead@hel.fi", [], role="lead", password=STAFF_PASSWORD,
                             name="Leena Lähiesihenkilö")
    await service.post_json("/api/v1/templates", {"name": "Kiitos yhteydenotosta",
                                                  "language": "fi", "text": TEMPLATE},
                            lead, status=201)
    await service.post_json("/api/v1/templates", {"name": "Tack", "language": "sv",
                                                  "text": "Hej {first_name}!"}, lead,
                            status=201)
    await send(service, mail("Naapuri häiritsee öisin, 00940 Helsinki",
                             sender="Aino Asukas <aino@example.com>"), sender="aino@example.com")
    [contact] = await service.wait_contacts(lead, 1)
    url = f"{service.url}/contacts/{contact['id']}"
    problems: list[str] = []
    irma = await signed_in(browser, service, watch, problems, "irma@hel.fi")
    await irma.goto(url)

    # She starts the reply herself, then puts the template where her cursor is.
    box = irma.get_by_label(re.compile("^Vastaus"))
    await box.fill("Kiitos.")
    await box.press("Home")
    posts: list[str] = []

    def on_request(request: Request) -> None:
        if request.method == "POST":
            posts.append(request.url)

    irma.on("request", on_request)
    await irma.get_by_label("Viestipohja").select_option(label="Kiitos yhteydenotosta")
    await irma.get_by_role("button", name="Lisää vastaukseen").click()
    await expect(box).to_have_value(FILLED + "\n\nKiitos.")
    await expect(box).to_be_focused()
    await expect(irma.locator("#template-status")).to_have_text(
        "Pohja on lisätty vastaukseen. Tarkista teksti ennen lähettämistä.")
    assert posts == [] and irma.url == url  # in place: nothing sent, no page load
    await box.press("Control+End")
    await box.press_sequentially(" Soitan huomenna.")
    await irma.get_by_role("button", name="Lähetä vastaus").click()
    await expect(irma).to_have_url(re.compile(rf"/contacts/{contact['id']}$"))
    reply = irma.locator("#messages li.message.out")
    await expect(reply).to_contain_text("Hei Aino, kiitos viestistäsi.")
    await expect(reply.locator(".delivery")).to_contain_text("Suojattu viesti: ilmoitus lähetetty")
    assert "{" not in (await reply.locator(".text").inner_text())
    irma.remove_listener("request", on_request)

    # An internal note: in the timeline, framed apart and saying it is not sent.
    await irma.get_by_label("Sisäinen muistiinpano").fill("Soitettu, ei vastannut. Yritä ma.")
    await irma.get_by_role("button", name="Tallenna muistiinpano").click()
    await expect(irma).to_have_url(re.compile(r"\?done=note#note-\d+$"))
    note = irma.locator("#messages li.message.note")
    await expect(note).to_contain_text("Sisäinen muistiinpano \u2013 ei lähetetä asukkaalle")
    await expect(note).to_contain_text("Soitettu, ei vastannut. Yritä ma.")
    await expect(note).to_contain_text("Irma Itäinen")
    await expect(note).to_have_css("border-top-style", "dashed")
    await expect(reply).to_have_css("border-top-style", "solid")
    await asyncio.to_thread(service.relay.wait_for, 1)
    assert len(service.relay.messages) == 1  # the reply's notification; the note sent nothing

    # Correcting the routing: without why it is refused at the field, the choice kept.
    await irma.get_by_text("Korjaa ohjaus", exact=True).click()
    form = irma.locator("#correct")
    await form.get_by_label("Kiireellisyys").select_option("urgent")
    await form.get_by_role("button", name="Tallenna korjaus").click()
    why = irma.locator("#routing-why")
    await expect(why).to_be_focused()
    await expect(why).to_have_attribute("aria-invalid", "true")
    await expect(irma.locator("#routing-why-error")).to_contain_text("Kerro, miksi korjaat")
    await expect(irma.locator("#correct").get_by_label("Kiireellisyys")).to_have_value("urgent")
    problems += await axe(irma, "contact page, a refused correction")
    await why.fill("Soitin: häätö ensi viikolla.")
    await irma.locator("#correct").get_by_role("button", name="Tallenna korjaus").click()
    await expect(irma.get_by_role("status").filter(has_text="Ohjaus on korjattu.")).to_be_visible()
    step = irma.locator("#routing .step--correct")
    await expect(step).to_contain_text("Kiireellisyys: Tavallinen → Erittäin kiireellinen")
    await expect(step).to_contain_text("Syy: Soitin: häätö ensi viikolla.")
    await expect(step).to_contain_text("Irma Itäinen")
    await expect(irma.locator(".contact-head")).to_contain_text("Erittäin kiireellinen")
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    assert detail["urgency"] == "urgent"

    # axe on every panel of the page, in each language, at both widths.
    small = await signed_in(browser, service, watch, problems, "irma@hel.fi", PHONE)
    for lang in ("fi", "sv", "en"):
        for page, width in ((irma, "1280"), (small, "390")):
            await page.goto(f"{url}?lang={lang}")
            await expect(page.locator("html")).to_have_attribute("lang", lang)
            await expect(page.get_by_text(WORDS[lang][0], exact=True)).to_be_visible()
            await open_panels(page)
            problems += await axe(page, f"contact page {lang} {width}px")
            if page is small:
                assert await page.evaluate("document.documentElement.scrollWidth") <= 390
            await shot(page, f"contact-{lang}-{width}")

    # The lead keeps the templates; the page, in each language, at both widths.
    leena = await signed_in(browser, service, watch, problems, "lead@hel.fi")
    await leena.goto(f"{service.url}/templates")
    await leena.get_by_text("Lisää uusi pohja", exact=True).click()
    await leena.locator("#new-name").fill("Tervetuloa")
    await leena.locator("#new-text").fill("Hei {etunimi}")
    await leena.get_by_role("button", name="Lisää pohja", exact=True).click()
    text = leena.locator("#new-text")
    await expect(text).to_be_focused()
    await expect(leena.locator("#new-text-error")).to_contain_text("ei tunne")
    await expect(text).to_have_value("Hei {etunimi}")
    problems += await axe(leena, "templates page, a refused template")
    await text.fill("Hei {first_name}, tervetuloa.")
    await leena.get_by_role("button", name="Lisää pohja", exact=True).click()
    await expect(leena.get_by_role("status").filter(has_text="Pohja on lisätty.")
                 ).to_be_visible()
    await expect(leena.locator(".template-language").first).to_contain_text("Tervetuloa")
    leena_small = await signed_in(browser, service, watch, problems, "lead@hel.fi", PHONE)
    for lang in ("fi", "sv", "en"):
        for page, width in ((leena, "1280"), (leena_small, "390")):
            await page.goto(f"{service.url}/templates?lang={lang}")
            await expect(page.get_by_text(WORDS[lang][3], exact=True).first).to_be_visible()
            await open_panels(page)
            problems += await axe(page, f"templates page {lang} {width}px")
            if page is leena_small:
                assert await page.evaluate("document.documentElement.scrollWidth") <= 390
            await shot(page, f"templates-{lang}-{width}")

    # A counsellor reads them, and is offered nothing to change.
    await irma.goto(f"{service.url}/templates")
    await expect(irma.locator(".template-language").first).to_contain_text("Tervetuloa")
    await expect(irma.locator("form[action^='/templates']")).to_have_count(0)
    problems += await axe(irma, "templates page, a counsellor")
    assert not problems, "\n".join(problems)
