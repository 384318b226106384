"""The counsellor's phone pages as a browser uses them (session cookie + CSRF forms):
"log a call" from anywhere (a double submit logs one call, bad input is answered at its
field), the callback queue's forms (take, attempt, cancel) and a public request's possible
match confirmed or rejected from the contact page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import aiohttp

from inbox.hours import HELSINKI
from inbox.models import CallLog, Contact
from tests.conftest import Service
from tests.integration.test_email import mail, send
from tests.integration.test_phone import count
from tests.integration.test_web_security import HIDDEN_CSRF, browser, log_in

OPEN_TIME = datetime(2026, 12, 2, 10, 0, tzinfo=HELSINKI)  # a Wednesday, within 9-15
CLIENT_ID = re.compile(r'name="client_id" value="([^"]+)"')


async def page(http: aiohttp.ClientSession, url: str) -> tuple[str, str]:
    """The page's HTML (unescaped) and its CSRF token."""
    async with http.get(url) as r:
        assert r.status == 200, await r.text()
        html = await r.text()
    found = HIDDEN_CSRF.search(html)
    assert found, "the page carries its CSRF field"
    return unescape(html), found.group(1)


async def post(http: aiohttp.ClientSession, url: str, form: dict[str, str]
               ) -> tuple[int, str, str]:
    """Status, Location and body of a form post (no redirect followed)."""
    async with http.post(url, data=form, allow_redirects=False,
                         headers={"Accept": "text/html"}) as r:
        return r.status, r.headers.get("Location", ""), unescape(await r.text())


async def hanna(service: Service, lead: str) -> dict:
    """Hanna Itä of Itäinen (she wrote once), with her number on record after a call."""
    await send(service, mail("Vuokra on rästissä, 00940 Helsinki",
                             sender="Hanna Itä <hanna@example.com>"), sender="hanna@example.com")
    [contact] = await service.wait_contacts(lead, 1)
    status, call = await service.post_json("/api/v1/calls", {
        "phone": "040 123 4567", "direction": "in", "notes": "Soitti vuokrasta",
        "resident_id": contact["resident_id"]}, lead)
    assert status == 201 and call and call["resident_id"] == contact["resident_id"], call
    return contact


async def test_log_call_page_double_submit_logs_one_call_and_opens_its_contact(
        service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    async with browser(service) as http:
        await log_in(service, http, "irma@hel.fi")
        html, csrf = await page(http, f"{service.url}/calls/new?phone=040%20765%204321")
        assert "Kirjaa puhelu" in html and 'value="040 765 4321"' in html
        client_id = CLIENT_ID.search(html)
        assert client_id, "the form carries its client_id"
        form = {"csrf_token": csrf, "client_id": client_id.group(1), "phone": "040 765 4321",
                "direction": "out", "notes": "Sovittiin maksusuunnitelma", "minutes": "7",
                "resident_id": ""}
        first = await post(http, f"{service.url}/calls/new", form)
        again = await post(http, f"{service.url}/calls/new", form)  # a double submit
        assert first[0] == again[0] == 303
        assert first[1] == again[1] and re.fullmatch(r"/contacts/\d+\?phone_notice=logged",
                                                     first[1]), first[1]
        assert await count(service, CallLog) == 1
        contact_id = int(first[1].split("/")[2].split("?")[0])
        shown, _ = await page(http, service.url + first[1])
        assert "Puhelu on kirjattu tähän yhteydenottoon." in shown
        listed, _ = await page(http, f"{service.url}/calls/new")
        assert "Viimeisimmät puhelut" in listed and "Sovittiin maksusuunnitelma" in listed
        assert f'href="/contacts/{contact_id}"' in listed
    detail = await service.get_json(f"/api/v1/contacts/{contact_id}", irma)
    [call] = detail["calls"]
    assert call["duration_s"] == 420 and call["notes"] == "Sovittiin maksusuunnitelma"
    assert detail["assignee"]["email"] == "irma@hel.fi"


async def test_log_call_page_says_what_is_wrong_at_each_field_and_stores_nothing(
        service: Service):
    service.add_staff("irma@hel.fi", ["itainen"])
    async with browser(service) as http:
        await log_in(service, http, "irma@hel.fi")
        html, csrf = await page(http, f"{service.url}/calls/new")
        client_id = CLIENT_ID.search(html).group(1)  # type: ignore[union-attr]
        status, _, body = await post(http, f"{service.url}/calls/new", {
            "csrf_token": csrf, "client_id": client_id, "phone": "12", "direction": "in",
            "notes": "Muistiin", "minutes": "kymmenen", "resident_id": "x"})
        assert status == 400
        assert "Puhelinnumero on liian lyhyt" in body
        assert "Anna kesto kokonaisina minuutteina, enintään 1440." in body
        assert "Valitse asukas hakutuloksista" in body
        assert "tarkista alla merkityt 3 kenttää" in body
        assert re.search(r'id="call-phone"[^>]*aria-invalid="true" autofocus', body)
        assert ">Muistiin</textarea>" in body and f'value="{client_id}"' in body
        # A phone number from abroad without + says how to write it.
        status, _, body = await post(http, f"{service.url}/calls/new?lang=sv", {
            "csrf_token": csrf, "client_id": client_id, "phone": "46701234567",
            "direction": "in"})
        assert status == 400 and "Skriv ett utländskt nummer med +" in body
    assert await count(service, CallLog) == 0
    assert await count(service, Contact) == 0


async def test_log_call_page_links_the_chosen_resident_and_refuses_another_areas(
        service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    service.add_staff("irma@hel.fi", ["itainen"])
    service.add_staff("ville@hel.fi", ["lantinen"])
    known = await hanna(service, lead)
    async with browser(service) as http:
        await log_in(service, http, "irma@hel.fi")
        found = await http.get(f"{service.url}/api/v1/residents", params={"q": "hanna"})
        [resident] = (await found.json())["items"]
        assert resident["id"] == known["resident_id"]
        html, csrf = await page(http, f"{service.url}/calls/new")
        status, location, _ = await post(http, f"{service.url}/calls/new", {
            "csrf_token": csrf, "client_id": CLIENT_ID.search(html).group(1),  # type: ignore[union-attr]
            "phone": "09 310 12345", "direction": "out", "notes": "Soitin takaisin",
            "resident_id": str(resident["id"]), "resident_label": "Hanna Itä"})
        assert status == 303
    contact_id = int(location.split("/")[2].split("?")[0])
    detail = await service.get_json(f"/api/v1/contacts/{contact_id}", lead)
    assert detail["resident_id"] == known["resident_id"]
    assert detail["case_id"] == known["case_id"]
    async with browser(service) as http:  # Ville works in Läntinen: Hanna is not his
        await log_in(service, http, "ville@hel.fi")
        html, csrf = await page(http, f"{service.url}/calls/new")
        status, _, body = await post(http, f"{service.url}/calls/new", {
            "csrf_token": csrf, "client_id": CLIENT_ID.search(html).group(1),  # type: ignore[union-attr]
            "phone": "050 765 4321", "direction": "in",
            "resident_id": str(known["resident_id"]), "resident_label": "Hanna Itä"})
        assert status == 400 and "Valitse asukas hakutuloksista" in body
        assert "Hanna Itä" not in body  # the label posted is not shown back
    assert await count(service, CallLog) == 2  # Hanna's first call and Irma's


async def test_queue_page_take_no_answer_not_before_and_cancel(service: Service):
    service.running.system.clock.set(OPEN_TIME)
    service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    service.add_staff("ilkka@hel.fi", ["itainen"], name="Ilkka Itä")
    for phone in ("040 111 2222", "040 333 4444"):
        await service.post_json("/api/v1/callbacks", {
            "phone": phone, "postal_code": "00940", "language": "sv", "topic": 2,
            "text": "Hyran är sen"}, status=201)
    async with browser(service) as irma, browser(service) as ilkka:
        await log_in(service, irma, "irma@hel.fi")
        await log_in(service, ilkka, "ilkka@hel.fi")
        html, csrf = await page(irma, f"{service.url}/callbacks")
        assert "040 111••••" in html and "040 1112222" not in html  # masked until taken
        assert "Svenska" in html and "Vuokravelka" in html and "Hyran är sen" in html
        assert "Mahdollisimman pian" in html and "0/3" in html
        ids = re.findall(r'action="/callbacks/(\d+)/claim"', html)
        assert len(ids) == 2
        status, location, _ = await post(irma, f"{service.url}/callbacks/{ids[0]}/claim",
                                         {"csrf_token": csrf})
        assert status == 303 and location == f"/callbacks?claimed={ids[0]}"
        html, _ = await page(irma, service.url + location)
        assert f"Otit soittopyynnön #{ids[0]}" in html and 'href="tel:+358401112222"' in html
        assert "Soitettavasi" in html and "Sinulla" in html
        # Ilkka sees it taken by Irma, masked, and cannot take or finish it.
        other, ilkka_csrf = await page(ilkka, f"{service.url}/callbacks")
        assert "Otettu: Irma Itäinen" in other and "040 1112222" not in other
        status, location, _ = await post(ilkka, f"{service.url}/callbacks/{ids[0]}/claim",
                                         {"csrf_token": ilkka_csrf})
        assert location == f"/callbacks?refused=taken&id={ids[0]}"
        status, location, _ = await post(ilkka, f"{service.url}/callbacks/{ids[0]}/attempts",
                                         {"csrf_token": ilkka_csrf, "result": "reached"})
        assert location == f"/callbacks?refused=not_yours&id={ids[0]}"
        refused, _ = await page(ilkka, service.url + location)
        assert f"Soittopyyntö #{ids[0]} ei ole enää sinun" in refused
        # No answer: back in the queue, 1/3, not before 12.00 (two hours on).
        status, location, _ = await post(irma, f"{service.url}/callbacks/{ids[0]}/attempts", {
            "csrf_token": csrf, "result": "no_answer", "notes": "Ei vastannut, vastaaja"})
        assert status == 303 and location == f"/callbacks?done={ids[0]}&outcome=retry"
        html, _ = await page(irma, service.url + location)
        assert "1/3" in html and "Aikaisintaan tänään klo 12.00" in html
        assert f"soittopyyntö #{ids[0]} palasi jonoon (yritys 1/3)" in html
        assert "040 111••••" in html and 'href="tel:+358401112222"' not in html
        # The other one: taken next, then cancelled.
        status, location, _ = await post(irma, f"{service.url}/callbacks/claim",
                                         {"csrf_token": csrf})
        assert location == f"/callbacks?claimed={ids[1]}"
        status, location, _ = await post(irma, f"{service.url}/callbacks/{ids[1]}/cancel",
                                         {"csrf_token": csrf})
        assert location == f"/callbacks?cancelled={ids[1]}"
        status, location, _ = await post(irma, f"{service.url}/callbacks/claim",
                                         {"csrf_token": csrf})
        assert location == "/callbacks?claimed=none"  # the first waits until 12.00
    service.running.system.clock.set(OPEN_TIME + timedelta(hours=2))
    async with browser(service) as irma:
        await log_in(service, irma, "irma@hel.fi")
        html, _ = await page(irma, f"{service.url}/callbacks")
        assert "Aikaisintaan" not in html and f'action="/callbacks/{ids[0]}/claim"' in html


async def test_possible_match_is_linked_or_kept_apart_from_the_contact_page(
        service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    service.add_staff("irma@hel.fi", ["itainen"])
    service.add_staff("ville@hel.fi", ["lantinen"])
    known = await hanna(service, lead)
    asked = []
    for postal_code in ("00940", "00940", "00320"):  # twice in Itäinen, once in Läntinen
        status, created = await service.post_json("/api/v1/callbacks", {
            "phone": "+358 40 123 4567", "postal_code": postal_code, "language": "fi"})
        assert status == 201 and created
        asked.append(created["id"])
    items = (await service.get_json("/api/v1/callbacks", lead))["items"]
    contacts = {i["id"]: i["contact_id"] for i in items}
    first, second, western = (contacts[i] for i in asked)
    async with browser(service) as http:
        await log_in(service, http, "irma@hel.fi")
        html, csrf = await page(http, f"{service.url}/contacts/{first}")
        assert f"Mahdollinen osuma: asukas Hanna Itä, asia #{known['case_id']}" in html
        assert f'action="/contacts/{first}/possible-match"' in html
        status, location, _ = await post(http, f"{service.url}/contacts/{first}/possible-match",
                                         {"csrf_token": csrf, "action": "confirm"})
        assert status == 303 and location == f"/contacts/{first}?phone_notice=linked"
        html, _ = await page(http, service.url + location)
        assert "Liitetty: pyyntö on nyt asukkaan asiassa." in html
        assert "possible-match-title" not in html  # the block is gone (the steps tell it)
        again = await post(http, f"{service.url}/contacts/{first}/possible-match",
                           {"csrf_token": csrf, "action": "confirm"})
        assert again[1] == f"/contacts/{first}?phone_notice=match_gone"
        status, location, _ = await post(http, f"{service.url}/contacts/{second}/possible-match",
                                         {"csrf_token": csrf, "action": "reject"})
        assert location == f"/contacts/{second}?phone_notice=separate"
        bad = await post(http, f"{service.url}/contacts/{second}/possible-match",
                         {"csrf_token": csrf, "action": "maybe"})
        assert bad[0] == 400
        refused = await post(http, f"{service.url}/contacts/{second}/possible-match",
                             {"action": "confirm"})  # no CSRF token
        assert refused[0] == 403
    linked = await service.get_json(f"/api/v1/contacts/{first}", lead)
    assert linked["resident_id"] == known["resident_id"]
    assert linked["case_id"] == known["case_id"] and linked["possible_match"] is None
    apart = await service.get_json(f"/api/v1/contacts/{second}", lead)
    assert apart["resident_id"] not in (None, known["resident_id"])
    assert apart["case_id"] != known["case_id"]
    async with browser(service) as http:  # Ville: Hanna is not of his areas
        await log_in(service, http, "ville@hel.fi")
        html, csrf = await page(http, f"{service.url}/contacts/{western}")
        assert "Mahdollinen osuma toisella alueella: esihenkilö voi liittää sen." in html
        assert "Hanna" not in html and f'action="/contacts/{western}/possible-match"' not in html
        status, _, _ = await post(http, f"{service.url}/contacts/{western}/possible-match",
                                  {"csrf_token": csrf, "action": "confirm"})
        assert status == 404
