"""Reports are correct by construction: a known set of contacts and cases, made through the
real API (mail over SMTP, corrections, case work), and every figure, its CSV and its page
checked; a counsellor sees their own areas only; bad periods get a clear answer."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from inbox.hours import HELSINKI
from inbox.models import Contact, Message
from tests.conftest import Service
from tests.integration.test_email import mail, send
from web.i18n import Catalogs
from web.reports_page import duration_text

TODAY = datetime.now(HELSINKI).date()
PERIOD = f"from={TODAY.isoformat()}&to={(TODAY + timedelta(days=60)).isoformat()}"


async def contact_from(service: Service, token: str, sender: str, text: str, count: int
                       ) -> dict:
    await send(service, mail(text, sender=sender, message_id=f"<{sender}>"))
    items = await service.wait_contacts(token, count)
    [contact] = [c for c in items if c["summary"] == "Apua" and c["id"] not in SEEN]
    SEEN.add(contact["id"])
    return await service.get_json(f"/api/v1/contacts/{contact['id']}", token)


SEEN: set[int] = set()


def answered_after(session: Session, contact_id: int, seconds: int) -> None:
    """The first reply `seconds` after the mail arrived (a known first-answer time)."""
    contact = session.get(Contact, contact_id)
    assert contact is not None
    session.execute(update(Message).where(Message.conversation_id == contact.conversation_id,
                                          Message.direction == "out")
                    .values(at=contact.received_at + timedelta(seconds=seconds)))


@pytest.fixture
async def known(service: Service) -> dict[str, str]:
    SEEN.clear()
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    ville = service.add_staff("ville@hel.fi", ["lantinen"], name="Ville Läntinen")
    irma = service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    made = []
    for n, (sender, postal) in enumerate([("a@example.com", "00320"), ("b@example.com", "00320"),
                                          ("c@example.com", "00320"),
                                          ("d@example.com", "00940")], start=1):
        made.append(await contact_from(service, lead, sender, f"Vuokra, {postal} Helsinki", n))
    c1, c2, c3, c4 = made
    for contact, who_code in ((c1, 1), (c2, 1), (c3, 2), (c4, 3)):
        await service.post_json(f"/api/v1/contacts/{contact['id']}/routing",
                                {"who_contacted": who_code, "why": "soitin"}, lead, status=200)
    for contact, reasons in ((c1, [2, 12]), (c2, [2]), (c4, [1])):
        case = await service.get_json(f"/api/v1/cases/{contact['case_id']}", lead)
        async with service.http.patch(f"{service.url}/api/v1/cases/{contact['case_id']}",
                                      json={"version": case["version"], "reasons": reasons},
                                      headers=service.auth(lead)) as r:
            assert r.status == 200, await r.text()
    case1, case2, case3 = c1["case_id"], c2["case_id"], c3["case_id"]
    for case_id, path, body in (
            (case1, "steps", {"code": 1}), (case1, "steps", {"code": 2}),
            (case2, "steps", {"code": 1}),
            (case1, "interventions", {"code": "rent_debt"}),
            (case2, "interventions", {"code": "rent_debt"}),
            (case2, "interventions", {"code": "dispute_mediation"}),
            (case3, "follow-ups", {"due": (TODAY + timedelta(days=30)).isoformat(),
                                   "kind": "follow_up"}),
            (case3, "follow-ups", {"due": (TODAY + timedelta(days=40)).isoformat(),
                                   "kind": "interim_evaluation"}),
            (case1, "close", {"outcome": "eviction_prevented"}),
            (case2, "close", {"outcome": "moved"})):
        status, _ = await service.post_json(f"/api/v1/cases/{case_id}/{path}", body, ville)
        assert status in (200, 201), (path, body)
    await service.post_json(f"/api/v1/contacts/{c3['id']}/take", {}, ville, status=200)
    planned = (await service.get_json(f"/api/v1/cases/{case3}", ville))["follow_ups"]
    first_due = min(planned, key=lambda f: f["due"])
    await service.post_json(f"/api/v1/follow-ups/{first_due['id']}/done", {}, ville)
    for contact, seconds in ((c1, 600), (c2, 1200)):
        await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                                {"text": "Soitan", "secure": False}, ville, status=201)
        await service.wait_detail(contact["id"], ville,
                                  lambda d: d["messages"][-1]["delivery"]["state"] == "sent")
        service.running.system.store.run(answered_after, contact["id"], seconds)
    return {"lead": lead, "ville": ville, "irma": irma}


def counts(report: dict) -> dict:
    return {item["code"]: item["count"] for item in report["items"] if item["count"]}


async def test_every_figure_counts_what_was_recorded(service: Service, known: dict):
    lead = known["lead"]

    async def get(name: str, area: str = "") -> dict:
        return await service.get_json(f"/api/v1/reports/{name}?{PERIOD}&area={area}", lead)

    who = await get("who-contacted")
    assert counts(who) == {1: 2, 2: 1, 3: 1} and who["total"] == 4
    assert who["items"][0] == {"code": 1, "label": "Asiakas itse", "count": 2}
    assert counts(await get("who-contacted", "lantinen")) == {1: 2, 2: 1}
    assert counts(await get("reasons")) == {2: 2, 12: 1, 1: 1}
    assert counts(await get("rent-debt-process")) == {1: 2, 2: 1}
    assert counts(await get("interventions")) == {"rent_debt": 2, "dispute_mediation": 1}
    assert counts(await get("outcomes")) == {"eviction_prevented": 1, "moved": 1}
    assert counts(await get("channels")) == {"email": 4}
    answers = {(i["code"], i["area"]): i for i in (await get("first-answer"))["items"]}
    lantinen = answers[("email", "lantinen")]
    assert (lantinen["count"], lantinen["median_s"], lantinen["p90_s"]) == (2, 900, 1200)
    assert answers[("email", "itainen")]["count"] == 0  # nobody has answered it
    open_cases = (await get("open-cases"))["items"]
    assert sorted((i["name"], i["count"]) for i in open_cases) == [
        ("Irma Itäinen", 1), ("Ville Läntinen", 1)]  # routed to the area's counsellor
    assert counts(await get("follow-ups")) == {"done_on_time": 1, "ahead": 1}


async def test_csv_has_codes_finnish_labels_and_counts(service: Service, known: dict):
    async with service.http.get(f"{service.url}/api/v1/reports/who-contacted?{PERIOD}",
                                headers={**service.auth(known["lead"]),
                                         "Accept": "text/csv"}) as r:
        assert r.status == 200 and r.content_type == "text/csv"
        assert "attachment" in r.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert rows[0] == {"code": "1", "label": "Asiakas itse", "count": "2"}
    assert {row["code"]: row["count"] for row in rows}["3"] == "1"
    assert sum(int(row["count"]) for row in rows) == 4
    assert len(rows) == 10  # every code of the taxonomy, zeros too


async def test_a_counsellor_sees_their_own_areas_figures_only(service: Service, known: dict):
    mine = await service.get_json(f"/api/v1/reports/who-contacted?{PERIOD}", known["irma"])
    assert counts(mine) == {3: 1}
    got = await service.get_json(f"/api/v1/reports/who-contacted?{PERIOD}&area=lantinen",
                                 known["irma"], status=403)
    assert got["code"] == "area.forbidden"


@pytest.mark.parametrize(("query", "code"), [
    ("from=2026-03-01&to=2026-02-01", "period.reversed"),
    ("from=2010-01-01&to=2026-02-01", "period.too_long"),
    ("from=eilen&to=2026-02-01", "period.date"),
    ("from=2026-01-01&to=2026-02-01&area=atlantis", "area.unknown")])
async def test_a_bad_period_gets_a_clear_answer(service: Service, query: str, code: str):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    got = await service.get_json(f"/api/v1/reports/reasons?{query}", lead, status=400)
    assert got["code"] == code
    async with service.http.get(f"{service.url}/reports?{query}",
                                headers=service.auth(lead)) as r:
        assert r.status == 400
        page = await r.text()
    assert 'role="alert"' in page and 'aria-invalid="true"' in page


async def test_the_page_shows_each_figure_as_chart_and_table(service: Service, known: dict):
    async with service.http.get(f"{service.url}/reports?{PERIOD}&lang=sv",
                                headers=service.auth(known["lead"])) as r:
        assert r.status == 200
        page = await r.text()
    assert page.count('<svg class="report__chart"') == 9
    assert page.count('<table class="hds-table') == 9
    assert "<h1>Rapporter</h1>" in page
    assert "Klienten själv" in page and "Asiakas itse" not in page  # words in Swedish
    assert ">2<" in page  # the counts are in the tables
    unknown = await service.get_json("/api/v1/reports/nonsense", known["lead"], status=404)
    assert unknown["code"] == "report.unknown"


async def test_follow_ups_are_missed_by_the_services_today(service: Service, known: dict):
    """Missed is counted against the service's clock, not the machine's."""
    service.running.system.clock.set(datetime.combine(
        TODAY + timedelta(days=50), datetime.min.time(), HELSINKI).replace(hour=12))
    got = await service.get_json(f"/api/v1/reports/follow-ups?{PERIOD}", known["lead"])
    assert counts(got) == {"done_on_time": 1, "missed": 1}


async def test_a_format_it_cannot_give_is_refused_before_the_figure(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    got = await service.get_json("/api/v1/reports/reasons?format=xlsx&from=eilen", lead,
                                 status=400)
    assert got["code"] == "format.unknown"


@pytest.mark.parametrize(("lang", "seconds", "said"), [
    ("sv", 40, "under en minut"), ("fi", 900, "15 min"), ("en", 7500, "2 h 5 min"),
    ("fi", None, "–")])  # noqa: RUF001 (the dash for none)
def test_durations_are_in_the_readers_words(lang: str, seconds: float | None, said: str):
    words = Catalogs.load()
    assert duration_text(lambda m: words.gettext(lang, m), seconds) == said
