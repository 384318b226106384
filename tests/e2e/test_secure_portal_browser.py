"""The secure-message portal in a real browser: the counsellor answers from her page, the
resident opens the link from the notification mail, enters the code from the second mail,
reads the reply and answers with a PDF; the counsellor sees "opened", then the answer, live.
axe-core finds no WCAG 2.1 A/AA violation on the portal's pages."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import Service
from tests.e2e.conftest import Watch, staff_login
from tests.e2e.widget_site import axe
from tests.integration.test_email import mail, send

pytestmark = pytest.mark.browser
REPLY = "Hei Matti! Sovitaan maksusuunnitelma, soitan huomenna kymmeneltä."
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def body(message: object) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]


async def test_resident_reads_and_answers_a_secure_reply_and_the_counsellor_sees_it_live(
        service: Service, browser: Browser, watch: Watch) -> None:
    expect.set_options(timeout=10_000)
    service.add_staff("ville@hel.fi", ["lantinen"], password="kontula-korttelit-2024",
                      name="Ville Läntinen")
    await send(service, mail("Vuokra on rästissä, 00320 Helsinki", subject="Vuokravelka"))
    counsellor = await (await browser.new_context()).new_page()
    problems = await watch(counsellor, "counsellor")
    await staff_login(counsellor, service.url, "ville@hel.fi")
    await counsellor.locator("#contacts tbody tr", has_text="Vuokravelka").get_by_role(
        "link").first.click()
    await counsellor.get_by_label(re.compile("^Vastaus")).fill(REPLY)
    await counsellor.get_by_role("button", name="Lähetä vastaus").click()
    await expect(counsellor.locator("#messages")).to_contain_text("ilmoitus lähetetty")

    [note] = await asyncio.to_thread(service.relay.wait_for, 1)
    assert REPLY not in note.as_string()
    found = re.search(r"http://127\.0\.0\.1:\d+(/s/[0-9a-f]+)", body(note))
    assert found
    # The worker process writes YHTEYS_PUBLIC_URL; the tests' service has a port of its own.
    link = service.url + found.group(1)
    resident = await (await browser.new_context(viewport={"width": 390, "height": 844})
                      ).new_page()
    problems += await watch(resident, "resident")
    await resident.goto(link)
    await expect(resident.get_by_role("heading", name="Suojattu viesti")).to_be_visible()
    assert REPLY not in await resident.content()
    problems += await axe(resident, "portal: identify (fi)")
    await resident.get_by_role("button", name="Lähetä minulle koodi").click()
    mails = await asyncio.to_thread(service.relay.wait_for, 2)
    code = re.search(r"\b(\d{6})\b", body(mails[1]))
    assert code
    field = resident.get_by_label("Kertakäyttöinen koodi")
    assert await field.get_attribute("autocomplete") == "one-time-code"
    await field.fill(code.group(1))
    await resident.get_by_role("button", name="Avaa viesti").click()
    await expect(resident.locator(".yh-secure__log")).to_contain_text(REPLY)
    problems += await axe(resident, "portal: conversation (fi)")
    await expect(counsellor.locator("#messages")).to_contain_text("avattu")  # live

    await resident.get_by_label("Vastauksesi").fill("Kiitos, liitteenä tiliote.")
    await resident.get_by_label("Liitteet (vapaaehtoinen)").set_input_files(
        {"name": "tiliote.pdf", "mimeType": "application/pdf", "buffer": PDF})
    await resident.get_by_role("button", name="Lähetä suojatusti").click()
    await expect(resident.get_by_role("status")).to_contain_text("Lähetetty.")
    await expect(counsellor.locator("#messages")).to_contain_text("Kiitos, liitteenä tiliote.")
    await expect(counsellor.locator("#messages")).to_contain_text("tiliote.pdf")
    await expect(counsellor.locator("#messages")).to_contain_text("asukas vastasi")

    await resident.goto(link + "?lang=sv")
    await expect(resident.get_by_role("heading", name="Skyddat meddelande")).to_be_visible()
    problems += await axe(resident, "portal: conversation (sv)")
    await resident.goto(f"{service.url}/secure/new?lang=en")
    await expect(resident.get_by_label("Email address")).to_have_attribute(
        "autocomplete", "email")
    problems += await axe(resident, "portal: new (en)")
    assert not problems, "\n".join(problems)
