"""The case page as a browser uses it (session cookie + CSRF forms): the resident masked,
key dates with their urgency, one timeline; every form records and redirects back, or
answers at its field with what was typed kept; two counsellors editing at once; letters
as PDF recorded on the case; the start page's follow-ups; another area's case is not
there."""

from __future__ import annotations

import re
from datetime import datetime

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.hours import HELSINKI
from inbox.models import AccessLog, CaseEvent
from inbox.staff import set_desk_phone
from tests.conftest import Service
from tests.integration.test_email import mail, send
from tests.integration.test_phone_pages import page, post
from tests.integration.test_web_security import browser, log_in

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=HELSINKI)  # a Wednesday
HETU = "131052-308T"


async def hanna_case(service: Service) -> tuple[str, dict]:
    """Irma of Itäinen and the case Hanna Itä's mail opened (she gave her identity code)."""
    service.running.system.clock.set(NOW)
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    await send(service, mail(f"Minulla on vuokravelkaa, 00940 Helsinki. Hetu {HETU}",
                             sender="Hanna Itä <hanna@example.com>"), sender="hanna@example.com")
    [contact] = await service.wait_contacts(irma, 1)
    return irma, await service.get_json(f"/api/v1/cases/{contact['case_id']}", irma)


@pytest.fixture
async def irma_page(service: Service):
    irma, case = await hanna_case(service)
    async with browser(service) as http:
        r = await log_in(service, http, "irma@hel.fi")
        assert r.status == 303
        yield service, http, irma, case


def url(service: Service, case: dict, rest: str = "") -> str:
    return f"{service.url}/cases/{case['id']}{rest}"


async def submit(http: aiohttp.ClientSession, service: Service, case: dict, action: str,
                 form: dict[str, str], status: int = 303) -> tuple[str, str]:
    """Post one of the page's forms with a fresh CSRF token; the Location and the body."""
    _html, csrf = await page(http, url(service, case))
    got, location, body = await post(http, url(service, case, f"/{action}"),
                                     {"csrf_token": csrf, **form})
    assert got == status, body[:2000]
    return location, body


def field_error(body: str, form: str, name: str) -> str:
    """The sentence shown at a field, and that the field points at it."""
    found = re.search(rf'id="{form}-{name}-error">([^<]*)<', body)
    assert found, f"no error at {form}-{name}"
    control = re.search(rf'id="{form}-{name}"[^>]*>', body)
    assert control and 'aria-invalid="true"' in control.group(0), control
    assert f"{form}-{name}-error" in control.group(0)
    return found.group(1)


async def test_the_page_shows_the_resident_masked_dates_and_one_timeline(irma_page):
    service, http, _irma, case = irma_page
    html, _csrf = await page(http, url(service, case))
    assert "Hanna Itä" in html and f"Asia #{case['id']}" in html
    assert "h•••@example.com" in html and "annettu (ei koskaan näytetä)" in html
    assert HETU not in html and "308T" not in html
    assert "Vuokravelka" in html  # the reason, in Finnish by default
    assert "Aikajana" in html and "uusin ensin" in html
    [contact] = case["contacts"]
    assert f'href="/contacts/{contact["id"]}"' in html
    views = service.running.system.store.run(lambda s: list(s.scalars(
        select(AccessLog.view).where(AccessLog.case_id == case["id"]))))
    assert "page.case" in views
    # The contact page links to its case.
    contact_html, _ = await page(http, f"{service.url}/contacts/{contact['id']}")
    assert f'<a href="/cases/{case["id"]}">Asia #{case["id"]}</a>' in contact_html
    # In Swedish on request.
    sv, _ = await page(http, url(service, case, "?lang=sv"))
    assert f"Ärende #{case['id']}" in sv and "Tidslinje" in sv and "Hyresskuld" in sv


async def test_record_a_step_and_the_others_land_on_one_timeline_newest_first(irma_page):
    service, http, irma, case = irma_page
    location, _ = await submit(http, service, case, "steps", {"code": "4", "at": "1.12.2026"})
    assert location == f"/cases/{case['id']}?done=step#timeline"
    await submit(http, service, case, "interventions", {"code": "rent_debt",
                                                        "note": "Maksusuunnitelma"})
    await submit(http, service, case, "partners", {"code": "kela", "text": ""})
    await submit(http, service, case, "goals", {"text": "Vuokrat ajallaan"})
    await submit(http, service, case, "meetings", {"code": "home_visit", "at": "",
                                                   "text": "Kotikäynti tehty"})
    await submit(http, service, case, "notes", {"text": f"Sisäinen {HETU}"})
    html, _ = await page(http, url(service, case, "?done=step"))
    assert "Vaihe on kirjattu." in html
    timeline = html[html.index('id="timeline"'):]
    order = [timeline.index(s) for s in ("Sisäinen", "Kotikäynti tehty", "Vuokrat ajallaan",
                                         "Kela", "Maksusuunnitelma", "4. Maksusopimus tehty")]
    assert order == sorted(order), "newest first"
    assert HETU not in html
    detail = await service.get_json(f"/api/v1/cases/{case['id']}", irma)
    assert [(s["code"], s["at"][:10], s["by"]) for s in detail["steps"]] == [
        (4, "2026-12-01", "Irma Itäinen")]
    assert [e["kind"] for e in detail["events"]] == [
        "step", "intervention", "partner", "goal", "meeting", "note"]


async def test_bad_input_is_answered_at_its_field_and_what_was_typed_stays(irma_page):
    service, http, irma, case = irma_page
    _, body = await submit(http, service, case, "steps", {"code": "15", "at": "2.12.2026"},
                           400)
    assert field_error(body, "step", "code") == "Valitse vaihe listasta."
    _, body = await submit(http, service, case, "steps", {"code": "3", "at": "24.12.2026"},
                           400)
    assert field_error(body, "step", "at") == "Päivämäärä ei voi olla tulevaisuudessa."
    _, body = await submit(http, service, case, "meetings", {"code": "office",
                                                             "at": "1.1.0001", "text": ""}, 400)
    assert field_error(body, "meeting", "at") == "Anna päivämäärä, esimerkiksi 2.12.2026."
    _, body = await submit(http, service, case, "goals", {"text": ""}, 400)
    assert field_error(body, "goal", "text") == "Kirjoita teksti."
    _, body = await submit(http, service, case, "follow-ups",
                           {"due": "2029-01-01", "kind": "follow_up",
                            "note": "Vuokranmaksun tarkistus"}, 400)
    assert field_error(body, "follow_up", "due").startswith("Valitse päivä 24 kuukauden")
    assert "Vuokranmaksun tarkistus</textarea>" in body  # kept
    assert 'id="form-follow_up" open' in body and "autofocus" in body
    _, body = await submit(http, service, case, "close", {"outcome": "solved", "note": ""},
                           400)
    assert field_error(body, "close", "outcome") == "Valitse tulos listasta."
    _, body = await submit(http, service, case, "notes", {"text": "a\x00b"}, 400)
    assert field_error(body, "note", "text").startswith("Tekstissä on merkkejä")
    detail = await service.get_json(f"/api/v1/cases/{case['id']}", irma)
    assert detail["events"] == [] and detail["follow_ups"] == []
    assert detail["status"] == "open"


async def test_plan_a_follow_up_mark_it_done_and_the_start_page_shows_it(irma_page):
    service, http, irma, case = irma_page
    location, _ = await submit(http, service, case, "follow-ups", {
        "due": "2026-12-04", "kind": "interim_evaluation", "note": "Väliarviointi"})
    assert location.endswith("done=follow_up#follow-ups")
    await submit(http, service, case, "follow-ups", {"due": "2027-06-01",
                                                     "kind": "follow_up", "note": ""})
    inbox, _ = await page(http, f"{service.url}/inbox")
    box = inbox[inbox.index('id="follow-ups-box"'):inbox.index('class="tabs"')]
    assert "Tämän viikon seurannat" in box and f'href="/cases/{case["id"]}"' in box
    assert "Väliarviointi · 4.12.2026" in " ".join(box.split())
    assert "1.6.2027" not in box  # not this week
    # Two days later it is overdue, and stands out.
    service.running.system.clock.set(datetime(2026, 12, 6, 9, 0, tzinfo=HELSINKI))
    inbox, _ = await page(http, f"{service.url}/inbox")
    assert "follow-up--overdue" in inbox and "Myöhässä" in inbox
    html, csrf = await page(http, url(service, case))
    [due_id] = re.findall(r'action="/follow-ups/(\d+)/done"', html)[:1]
    status, location, _ = await post(http, f"{service.url}/follow-ups/{due_id}/done",
                                     {"csrf_token": csrf})
    assert status == 303 and location.endswith("done=follow_up_done#follow-ups")
    inbox, _ = await page(http, f"{service.url}/inbox")
    assert "Tällä viikolla ei ole seurantoja." in inbox
    detail = await service.get_json(f"/api/v1/cases/{case['id']}", irma)
    assert [bool(f["done_at"]) for f in detail["follow_ups"]] == [True, False]


async def test_close_with_an_outcome_and_nothing_more_is_recorded(irma_page):
    service, http, irma, case = irma_page
    location, _ = await submit(http, service, case, "close", {
        "outcome": "eviction_prevented", "note": "Maksusopimus piti"})
    assert location.endswith("done=close#timeline")
    html, _ = await page(http, url(service, case))
    assert "Suljettu 2.12.2026 10.00, tulos: Häätö estetty." in html
    assert 'action="/cases/' + str(case["id"]) + '/steps"' not in html  # no forms now
    assert "Tulos: Häätö estetty" in html and "Maksusopimus piti" in html
    # A form still open in another tab: told, nothing recorded.
    _html, csrf = await page(http, url(service, case))
    status, _, body = await post(http, url(service, case, "/steps"),
                                 {"csrf_token": csrf, "code": "2", "at": ""})
    assert status == 409 and "Asia suljettiin sillä välin" in body
    detail = await service.get_json(f"/api/v1/cases/{case['id']}", irma)
    assert detail["outcome"] == "eviction_prevented"
    assert [e["kind"] for e in detail["events"]] == ["closed"]


async def test_hand_over_to_another_counsellor_with_a_note(irma_page):
    service, http, irma, case = irma_page
    ilkka = service.add_staff("ilkka@hel.fi", ["itainen"], name="Ilkka Itä")
    ilkka_id = (await service.get_json("/api/v1/me", ilkka))["id"]
    _, body = await submit(http, service, case, "handover",
                           {"to_staff_id": str(ilkka_id), "note": ""}, 400)
    assert field_error(body, "handover", "note") == "Kirjoita teksti."
    _, body = await submit(http, service, case, "handover",
                           {"to_staff_id": "999999", "note": "Lomani ajaksi"}, 400)
    assert field_error(body, "handover", "to_staff_id") == "Valitse neuvoja listasta."
    assert "Lomani ajaksi</textarea>" in body
    await submit(http, service, case, "handover",
                 {"to_staff_id": str(ilkka_id), "note": "Lomani ajaksi"})
    detail = await service.get_json(f"/api/v1/cases/{case['id']}", irma)
    assert detail["counsellor"] == {"id": ilkka_id, "name": "Ilkka Itä"}
    html, _ = await page(http, url(service, case))
    assert "Vastaanottaja: Ilkka Itä" in html and "Lomani ajaksi" in html


async def test_two_counsellors_edit_at_once_the_second_is_told_and_keeps_her_typing(
        irma_page):
    service, http, irma, case = irma_page
    lead = service.add_staff("lead@hel.fi", [], role="lead", name="Liisa Lead")
    # Irma opens the page; meanwhile the lead saves a hearing date.
    html, csrf = await page(http, url(service, case))
    version = re.search(r'name="version" value="(\d+)"', html).group(1)  # type: ignore[union-attr]
    async with service.http.patch(f"{service.url}/api/v1/cases/{case['id']}", json={
            "version": int(version), "hearing_date": "2026-12-20"},
            headers=service.auth(lead)) as r:
        assert r.status == 200
    status, _, body = await post(http, url(service, case, "/edit"), {
        "csrf_token": csrf, "version": version, "reasons": "12",
        "housing_type": "city_company", "eviction_date": "2026-12-10", "hearing_date": "",
        "discharge_date": ""})
    assert status == 409
    assert "Joku muu tallensi asian sillä välin" in body and "Lataa sivu uudelleen" in body
    assert 'value="2026-12-10"' in body  # what she typed is kept
    assert re.search(r'value="city_company" selected', body)
    assert "Käräjäoikeuden käsittely" in body and "20.12.2026" in body  # the saved one shows
    detail = await service.get_json(f"/api/v1/cases/{case['id']}", irma)
    assert detail["dates"] == {"eviction": None, "hearing": "2026-12-20", "discharge": None}
    # Saving again, knowingly, replaces it: the form now carries the version she saw.
    newer = re.search(r'name="version" value="(\d+)"', body).group(1)  # type: ignore[union-attr]
    assert int(newer) == int(version) + 1
    location, _ = await submit(http, service, case, "edit", {
        "version": newer, "reasons": "12", "housing_type": "city_company",
        "eviction_date": "10.12.2026", "hearing_date": "2026-12-20", "discharge_date": ""})
    assert location.endswith("done=edit#timeline")
    detail = await service.get_json(f"/api/v1/cases/{case['id']}", irma)
    assert detail["reasons"] == [12] and detail["urgency"] == "urgent"
    html, _ = await page(http, url(service, case))
    assert "Tekee asiasta erittäin kiireellisen (14 päivän sisällä)." in html
    assert "Tekee asiasta kiireellisen (30 päivän sisällä)." in html


async def test_letters_are_pdf_in_the_residents_language_and_recorded(irma_page):
    service, http, irma, case = irma_page
    service.running.system.store.run(set_desk_phone, "irma@hel.fi", "+358401234567", None)
    _html, csrf = await page(http, url(service, case))
    async with http.post(url(service, case, "/letters/appointment"), data={
            "csrf_token": csrf, "day": "2026-12-09", "time": "13:30",
            "place": "Itäkeskuksen palvelupiste"}, allow_redirects=False) as r:
        assert r.status == 200, await r.text()
        assert r.content_type == "application/pdf"
        assert r.headers["Content-Disposition"].startswith("attachment;")
        assert "ajanvarauskirje" in r.headers["Content-Disposition"]
        pdf = await r.read()
    assert pdf.startswith(b"%PDF")
    # Through the API too, the contact-request letter.
    async with service.http.post(f"{service.url}/api/v1/cases/{case['id']}/letters",
                                 json={"kind": "contact_request", "at": "2026-12-16"},
                                 headers=service.auth(irma)) as r:
        assert r.status == 200 and r.content_type == "application/pdf"
        assert (await r.read()).startswith(b"%PDF")
    # Bad input: at its field, nothing recorded.
    _, body = await submit(http, service, case, "letters/appointment",
                           {"day": "2026-12-01", "time": "10:00", "place": "X"}, 400)
    assert field_error(body, "appointment", "day") == "Tapaamisen on oltava tulevaisuudessa."
    _, body = await submit(http, service, case, "letters/appointment",
                           {"day": "2026-12-09", "time": "10:00", "place": ""}, 400)
    assert field_error(body, "appointment", "place").startswith("Anna paikka")
    status, problem = await service.post_json(f"/api/v1/cases/{case['id']}/letters",
                                              {"kind": "invitation"}, irma)
    assert status == 400 and problem and problem["code"] == "letter.unknown"

    def letters(session: Session) -> list[tuple[str | None, str]]:
        return [(e.code, e.text) for e in session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case["id"],
                                    CaseEvent.kind == "letter").order_by(CaseEvent.id))]
    assert service.running.system.store.run(letters) == [
        ("appointment", "9.12.2026 13.30 · Itäkeskuksen palvelupiste · FI"),
        ("contact_request", "→ 16.12.2026 · FI")]
    html, _ = await page(http, url(service, case))
    assert "Kirje lähetetty" in html and "Ajanvarauskirje" in html


def test_the_letter_says_it_in_the_residents_language(service: Service):
    from web.i18n import Catalogs
    from web.letters import Letters, letter_request

    letters = Letters(service.running.system.store, Catalogs.load(), lambda: NOW)
    facts = {"case_id": 7, "area": "itainen",
             "resident": {"name": "Sara Öst", "language": "sv"},
             "counsellor": {"name": "Irma Itäinen", "email": "irma@hel.fi",
                            "phone": "+358401234567"}}
    request = letter_request("appointment", "2026-12-09T13:30", "Itäkeskus", NOW)
    sv = letters.html(request, facts, "sv", NOW)
    assert "Tid hos bostadsrådgivaren" in sv and "onsdag 9.12.2026 kl. 13.30" in sv
    assert "040 1234567" in sv and "Bästa Sara Öst," in sv
    en = letters.html(letter_request("contact_request", None, None, NOW), facts, "en", NOW)
    assert "Please contact us as soon as you can." in en and "irma@hel.fi" in en
    fi = letters.html(request, facts, "fi", NOW)
    assert "keskiviikkona 9.12.2026 klo 13.30" in fi and "Viite: asia 7" in fi


async def test_another_areas_case_is_not_there(irma_page):
    service, _http, irma, case = irma_page
    service.add_staff("ella@hel.fi", ["etelainen"])
    async with browser(service) as other:
        await log_in(service, other, "ella@hel.fi")
        async with other.get(url(service, case)) as r:
            assert r.status == 404
        _inbox, csrf = await page(other, f"{service.url}/inbox")
        status, _, _ = await post(other, url(service, case, "/notes"),
                                  {"csrf_token": csrf, "text": "x"})
        assert status == 404
        status, _, _ = await post(other, url(service, case, "/letters/contact-request"),
                                  {"csrf_token": csrf, "by": ""})
        assert status == 404
    detail = await service.get_json(f"/api/v1/cases/{case['id']}", irma)
    assert detail["events"] == []
