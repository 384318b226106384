"""Working a contact on its page, over HTTP as a browser without scripts would: correcting
the routing (a step with who and why, shown under "Why here"), internal notes (marked,
never sent), reply templates inserted without JavaScript, the templates page that leads
keep and counsellors may only read, and the delivery truth of each reply."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import unescape

import aiohttp
from sqlalchemy import func, select

from inbox.models import Message
from tests.conftest import Service
from tests.integration.chat_client import ChatResident
from tests.integration.test_email import mail, send
from tests.integration.test_web_security import HIDDEN_CSRF, browser, log_in

TEXTAREA = r'<textarea id="{}"[^>]*>([^<]*)</textarea>'


@asynccontextmanager
async def signed_in(service: Service, email: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with browser(service) as http:
        response = await log_in(service, http, email)
        assert response.status == 303, "signed in"
        yield http


async def page(service: Service, http: aiohttp.ClientSession, path: str,
               status: int = 200) -> tuple[str, str]:
    """The page's HTML (entities undone) and its CSRF token."""
    async with http.get(service.url + path) as r:
        html = await r.text()
        assert r.status == status, html[:2000]
    found = HIDDEN_CSRF.search(html)
    return unescape(html), found.group(1) if found else ""


async def post(service: Service, http: aiohttp.ClientSession, path: str,
               form: dict[str, str]) -> tuple[int, str, str]:
    """Status, where it sends the browser (a 303's Location) and the HTML it answers with."""
    async with http.post(service.url + path, data=form, allow_redirects=False,
                         headers={"Origin": service.url, "Accept": "text/html"}) as r:
        return r.status, r.headers.get("Location", ""), unescape(await r.text())


def textarea(html: str, ident: str) -> str:
    found = re.search(TEXTAREA.format(ident), html)
    assert found, f"no textarea #{ident}"
    return found.group(1)


def header(html: str) -> str:
    """The contact's own header: its title, channel, status and urgency."""
    start = html.index('class="contact-head"')
    return html[start:html.index("</header>", start)]


def outbound(service: Service) -> int:
    return service.running.system.store.run(lambda s: s.scalar(
        select(func.count()).select_from(Message).where(Message.direction == "out")))


async def mail_contact(service: Service, token: str, text: str,
                       sender: str = "Matti Meikäläinen <matti@example.com>") -> dict:
    await send(service, mail(text, sender=sender), sender=sender.split("<")[-1].strip(">"))
    [contact] = await service.wait_contacts(token, 1)
    return contact


async def test_a_routing_correction_is_a_step_with_who_and_why_on_the_page(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    contact = await mail_contact(service, irma, "Naapuri häiritsee, 00940 Helsinki")
    assert (contact["reason"], contact["urgency"]) == (3, "normal")
    path = f"/contacts/{contact['id']}"
    async with signed_in(service, "irma@hel.fi") as http:
        html, csrf = await page(service, http, path)
        assert f'action="/contacts/{contact["id"]}/routing"' in html
        assert "Korjaa ohjaus" in html and "Miksi korjaat" in html

        # Without a why nothing is saved: the reason is at the field, what was chosen stays.
        status, _, html = await post(service, http, path + "/routing", {
            "csrf_token": csrf, "area": "itainen", "reason": "12", "who_contacted": "7",
            "urgency": "urgent", "why": ""})
        assert status == 400
        assert 'id="routing-why-error"' in html and "Kerro, miksi korjaat ohjausta" in html
        assert re.search(r'<textarea id="routing-why"[^>]*aria-invalid="true"[^>]*autofocus',
                         html)
        assert re.search(r'<option value="12" selected>Häätö</option>', html)
        assert re.search(r'<option value="urgent" selected>', html)
        assert (await service.get_json(f"/api/v1/contacts/{contact['id']}", irma)
                )["reason"] == 3

        # Nothing changed is said so too.
        status, _, html = await post(service, http, path + "/routing", {
            "csrf_token": csrf, "area": "itainen", "reason": "3", "who_contacted": "",
            "urgency": "normal", "why": "Tarkistin"})
        assert status == 400 and "Mitään ei muutettu" in html

        why = "Soitin: häätö ensi viikolla, sukulainen otti yhteyttä"
        status, location, _ = await post(service, http, path + "/routing", {
            "csrf_token": csrf, "area": "itainen", "reason": "12", "who_contacted": "7",
            "urgency": "urgent", "why": why})
        assert status == 303 and location == f"{path}?done=routing#routing-title"
        html, _ = await page(service, http, path + "?done=routing")
        why_here = html[html.index('id="routing-title"'):html.index('id="correct"')]
        assert "Aihe: Häiritsevä elämä, häiriö → Häätö" in why_here
        assert "Kiireellisyys: Tavallinen → Erittäin kiireellinen" in why_here
        assert "Yhteydenottaja: " in why_here and "→ Sukulaiset" in why_here
        assert why_here.count(f"Syy: {why}") == 3 and why_here.count("Irma Itäinen") >= 3
        assert "Ohjaus on korjattu." in html

        # The same steps in Swedish: the stored codes are worded for the reader.
        sv, _ = await page(service, http, path + "?lang=sv")
        assert "Orsak: " in sv and "→ Vräkning" in sv and f"Varför: {why}" in sv

        # A new area moves it to that area's queue, the same why as a transfer: Irma no
        # longer sees it and is told so in her inbox.
        status, location, _ = await post(service, http, path + "/routing", {
            "csrf_token": csrf, "area": "koillinen", "reason": "12", "who_contacted": "7",
            "urgency": "urgent", "why": "Asuu Malmilla"})
        assert status == 303 and location == f"/inbox?transferred={contact['id']}"
        await page(service, http, path, 404)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    assert (detail["area"], detail["reason"], detail["urgency"], detail["who_contacted"]) == (
        "koillinen", 12, "urgent", 7)
    steps = detail["routing"]["steps"]
    assert sorted(s["code"] for s in steps if s["rule"] == "correct") == [
        "correct.reason", "correct.urgency", "correct.who_contacted"]
    assert all(s["params"]["by"] == "Irma Itäinen" and s["params"]["why"] == why
               for s in steps if s["rule"] == "correct")
    assert steps[-1]["rule"] == "transfer" and steps[-1]["params"]["note"] == "Asuu Malmilla"


async def test_a_counsellor_of_another_area_cannot_correct_the_routing(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    service.add_staff("ella@hel.fi", ["etelainen"])
    contact = await mail_contact(service, irma, "Vuokravelkaa, 00940 Helsinki")
    async with signed_in(service, "ella@hel.fi") as http:
        _, csrf = await page(service, http, "/inbox")
        await page(service, http, f"/contacts/{contact['id']}", 404)
        status, _, _ = await post(service, http, f"/contacts/{contact['id']}/routing", {
            "csrf_token": csrf, "area": "etelainen", "reason": "12", "who_contacted": "",
            "urgency": "urgent", "why": "Minun"})
        assert status == 404
        status, _, _ = await post(service, http, f"/contacts/{contact['id']}/notes",
                                  {"csrf_token": csrf, "text": "Minun"})
        assert status == 404
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", irma)
    assert (detail["area"], detail["urgency"], detail["notes"]) == ("itainen", "normal", [])
    assert all(s["rule"] != "correct" for s in detail["routing"]["steps"])


async def test_a_note_is_marked_internal_and_never_leaves(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    contact = await mail_contact(service, irma, "Vuokravelkaa, 00940 Helsinki")
    path = f"/contacts/{contact['id']}"
    resident = await ChatResident(service).connect()
    started = await resident.call("start", {"language": "fi", "postal_code": "00940",
                                            "text": "Hei, vuokra on myöhässä"})
    assert "conversation_id" in started, started
    chat = next(c for c in await service.wait_contacts(irma, 2) if c["channel"] == "chat")
    async with signed_in(service, "irma@hel.fi") as http:
        _, csrf = await page(service, http, path)
        status, _, html = await post(service, http, path + "/notes",
                                     {"csrf_token": csrf, "text": "  "})
        assert status == 400 and "Kirjoita muistiinpano." in html
        assert 'id="note-text-error"' in html
        for where, text in ((path, "Sovittu soitto huomenna klo 10"),
                            (f"/contacts/{chat['id']}", "Chatissa: äiti soitti myös")):
            status, location, _ = await post(service, http, where + "/notes",
                                             {"csrf_token": csrf, "text": text})
            assert status == 303 and re.fullmatch(rf"{where}\?done=note#note-\d+", location)
        html, _ = await page(service, http, path + "?done=note")
        note = re.search(r'<li class="message note" id="note-\d+">(.*?)</li>', html, re.S)
        assert note, "the note is in the timeline, as a note"
        assert "Sisäinen muistiinpano \u2013 ei lähetetä asukkaalle" in note.group(1)
        assert "Sovittu soitto huomenna klo 10" in note.group(1)
        assert "Irma Itäinen" in note.group(1)
        assert "Sisäinen muistiinpano on tallennettu." in html
        assert outbound(service) == 0  # no message was made of either note

        # A reply after the notes is the only thing that leaves, by mail and by chat.
        for where, text in ((path, "Hei Matti, soitan huomenna."),
                            (f"/contacts/{chat['id']}", "Hei, katsotaan yhdessä.")):
            status, _, _ = await post(service, http, where + "/reply",
                                      {"csrf_token": csrf, "text": text})
            assert status == 303
    [sent] = await resident.wait(resident.messages, 1)
    assert sent["text"] == "Hei, katsotaan yhdessä."
    await asyncio.to_thread(service.relay.wait_for, 1)
    mails = [m.get_body(("plain",)).get_content() for m in service.relay.messages]
    assert len(mails) == 1 and "Sovittu" not in mails[0] and "äiti" not in mails[0]
    assert all("äiti" not in m["text"] for m in resident.messages)
    assert outbound(service) == 2
    await resident.close()


async def test_a_template_goes_into_the_reply_box_without_javascript(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    _, fi = await service.post_json("/api/v1/templates", {
        "name": "Kiitos", "language": "fi",
        "text": "Hei {first_name}, kiitos viestistä. Olemme auki {opening_hours}.\n"
                "Terveisin {counsellor}"}, lead, status=201)
    _, sv = await service.post_json("/api/v1/templates", {
        "name": "Tack", "language": "sv", "text": "Hej {first_name}! Hälsningar {counsellor}"},
        lead, status=201)
    assert fi and sv
    contact = await mail_contact(service, irma, "Vuokravelkaa, 00940 Helsinki")
    path = f"/contacts/{contact['id']}"
    filled = ("Hei Matti, kiitos viestistä. Olemme auki ma\u2013pe 9.00\u201315.00.\n"
              "Terveisin Irma Itäinen")
    async with signed_in(service, "irma@hel.fi") as http:
        html, csrf = await page(service, http, path)
        # A mail says nothing of its language: every language is offered, grouped.
        assert '<optgroup label="Suomi">' in html and '<optgroup label="Svenska">' in html
        assert "kaikki kielet näytetään" in html
        html, _ = await page(service, http, f"{path}?template={fi['id']}")
        assert textarea(html, "reply-text") == filled
        assert "Pohja on lisätty vastaukseen." in html
        html, _ = await page(service, http, f"{path}?template=999999")
        assert textarea(html, "reply-text") == "" and "Pohjaa ei enää ole." in html

        # The insert button keeps what was typed and sends nothing.
        status, _, html = await post(service, http, path + "/reply", {
            "csrf_token": csrf, "text": "Aloitan näin.", "template": str(fi["id"]),
            "insert": "1"})
        assert status == 200 and textarea(html, "reply-text") == f"Aloitan näin.\n\n{filled}"
        status, _, html = await post(service, http, path + "/reply", {
            "csrf_token": csrf, "text": "Kesken", "template": "", "insert": "1"})
        assert status == 400 and "Valitse pohja listasta." in html
        assert textarea(html, "reply-text") == "Kesken"
        assert outbound(service) == 0
        status, _, html = await post(service, http, path + "/reply",
                                     {"csrf_token": csrf, "text": "   "})
        assert status == 400 and "Kirjoita vastaus." in html and outbound(service) == 0

    # A chat in Finnish is offered the Finnish templates only; one in English, where there
    # are none, every language.
    for language, text in (("fi", "Vuokra on myöhässä"), ("en", "My rent is late")):
        resident = await ChatResident(service).connect()
        await resident.call("start", {"language": language, "postal_code": "00940",
                                      "text": text})
        await resident.close()
    chats = {c["language"]: c for c in await service.wait_contacts(irma, 3)
             if c["channel"] == "chat"}
    async with signed_in(service, "irma@hel.fi") as http:
        html, _ = await page(service, http, f"/contacts/{chats['fi']['id']}")
        assert f'<option value="{fi["id"]}">Kiitos</option>' in html
        assert "Tack" not in html and "<optgroup" not in html
        assert "Pohjat yhteydenoton kielellä." in html
        html, _ = await page(service, http, f"/contacts/{chats['en']['id']}")
        assert '<optgroup label="Suomi">' in html and '<optgroup label="Svenska">' in html


async def test_a_lead_keeps_templates_and_a_counsellor_may_only_read_them(service: Service):
    service.add_staff("lead@hel.fi", [], role="lead", name="Leena Lähiesihenkilö")
    lead_token = service.tokens["lead@hel.fi"]
    service.add_staff("irma@hel.fi", ["itainen"])
    async with signed_in(service, "lead@hel.fi") as http:
        html, csrf = await page(service, http, "/templates")
        assert "Viestipohjat" in html and 'action="/templates"' in html

        # An unknown placeholder is refused at the text, what was typed is kept.
        status, _, html = await post(service, http, "/templates", {
            "csrf_token": csrf, "name": "Kiitos", "language": "fi",
            "text": "Hei {etunimi}, kiitos."})
        assert status == 400 and 'id="new-text-error"' in html
        assert "täytettävä kohta, jota palvelu ei tunne" in html
        assert textarea(html, "new-text") == "Hei {etunimi}, kiitos."
        status, location, _ = await post(service, http, "/templates", {
            "csrf_token": csrf, "name": "Kiitos", "language": "fi",
            "text": "Hei {first_name}, kiitos. {counsellor}"})
        assert status == 303 and location.startswith("/templates?done=created#template-")
        [made] = (await service.get_json("/api/v1/templates", lead_token))["items"]

        status, _, html = await post(service, http, "/templates", {
            "csrf_token": csrf, "name": "Kiitos", "language": "fi", "text": "Toinen"})
        assert status == 409 and 'id="new-name-error"' in html and "samanniminen" in html

        status, location, _ = await post(service, http, f"/templates/{made['id']}", {
            "csrf_token": csrf, "name": "Kiitos", "language": "fi",
            "text": "Hei {first_name}! Terveisin {counsellor}"})
        assert status == 303
        html, _ = await page(service, http, "/templates?done=saved")
        assert "Pohja on tallennettu." in html and "Hei {first_name}! Terveisin" in html

        # Without the CSRF token nothing changes.
        status, _, _ = await post(service, http, f"/templates/{made['id']}/delete", {})
        assert status == 403

    async with signed_in(service, "irma@hel.fi") as http:
        html, csrf = await page(service, http, "/templates")
        assert "Hei {first_name}! Terveisin" in html  # they read them
        assert 'action="/templates' not in html  # and get no form to change them
        for path, form in (("/templates", {"name": "Oma", "language": "fi", "text": "Hei"}),
                           (f"/templates/{made['id']}", {"name": "X", "language": "fi",
                                                        "text": "X"}),
                           (f"/templates/{made['id']}/delete", {})):
            status, _, html = await post(service, http, path, {"csrf_token": csrf, **form})
            assert status == 403, path
            assert "Vain esihenkilöt ja ylläpitäjät voivat muuttaa viestipohjia." in html
    items = (await service.get_json("/api/v1/templates", lead_token))["items"]
    assert [(t["name"], t["text"]) for t in items] == [
        ("Kiitos", "Hei {first_name}! Terveisin {counsellor}")]

    async with signed_in(service, "lead@hel.fi") as http:
        _, csrf = await page(service, http, "/templates")
        status, location, _ = await post(service, http, f"/templates/{made['id']}/delete",
                                         {"csrf_token": csrf})
        assert status == 303 and location == "/templates?done=deleted"
        html, _ = await page(service, http, "/templates?lang=en&done=deleted")
        assert "The template is deleted." in html and "No templates in this language yet." in html
    assert (await service.get_json("/api/v1/templates", lead_token))["items"] == []


async def test_a_failed_reply_never_looks_answered_and_can_be_sent_again(service: Service):
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    contact = await mail_contact(service, irma, "Vuokravelkaa, 00940 Helsinki")
    path = f"/contacts/{contact['id']}"
    service.relay.reject = "550 5.1.1 No such user"
    async with signed_in(service, "irma@hel.fi") as http:
        _, csrf = await page(service, http, path)
        status, _, _ = await post(service, http, path + "/reply",
                                  {"csrf_token": csrf, "text": "Hei, soitan huomenna."})
        assert status == 303
        detail = await service.wait_detail(contact["id"], irma, lambda d: d["messages"][-1].get(
            "delivery", {}).get("state") == "failed")
        [reply] = [m for m in detail["messages"] if m["direction"] == "out"]
        assert detail["status"] == "open"
        html, _ = await page(service, http, path)
        head = header(html)
        assert "Vastaus ei mennyt perille" in head and "Vastattu" not in head
        assert "Viimeisin vastaus ei tavoittanut asukasta" in html
        message = html[html.index(f'id="message-{reply["id"]}"'):]
        message = message[:message.index("</li>")]
        assert "Ei lähtenyt" in message and "Syy: " in message and "No such user" in message
        assert f'action="/contacts/{contact["id"]}/messages/{reply["id"]}/retry"' in message

        service.relay.reject = None  # the address was fixed at the other end
        status, location, _ = await post(
            service, http, f"{path}/messages/{reply['id']}/retry?lang=sv",
            {"csrf_token": csrf})
        assert status == 303 and location == f"{path}?lang=sv"
        await service.wait_detail(contact["id"], irma, lambda d: d["status"] == "answered")
        html, _ = await page(service, http, path + "?lang=sv")
        head = header(html)
        assert "Besvarad" in head and "/retry" not in html
        assert "Skyddat meddelande: avisering skickad" in html  # secure replies: the default
