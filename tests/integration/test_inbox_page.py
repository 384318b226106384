"""The inbox page as a counsellor's browser reads it: search and filters in the query string
(the API's own), counts per folder on the tabs, pages, urgency first, a waiting time in the
reader's words, an empty result that says so; and the live row endpoint, which reads one
contact (one use-log row), answers null when the contact left the list, and for another
area's contact answers exactly as for one that does not exist."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import AccessLog
from tests.conftest import Service
from tests.integration.test_email import mail, send

DASH = "\u2013"  # the en dash of "1 to 3 of 3" (ruff would read it as a hyphen)
ROW = re.compile(r'<tr data-contact-id="(\d+)"')


async def get(service: Service, path: str, token: str, status: int = 200) -> str:
    async with service.http.get(service.url + path, headers=service.auth(token)) as r:
        text = await r.text()
        assert r.status == status, text[:500]
        return unescape(text)


async def row(service: Service, contact_id: int, token: str, query: str = "",
              status: int = 200) -> dict:
    async with service.http.get(f"{service.url}/inbox/rows/{contact_id}{query}",
                                headers=service.auth(token)) as r:
        assert r.status == status, await r.text()
        return await r.json()


def shown(html: str) -> list[int]:
    return [int(i) for i in ROW.findall(html)]


def logged(session: Session, view: str) -> int:
    return session.scalar(select(func.count()).select_from(AccessLog)
                          .where(AccessLog.view == view)) or 0


@pytest.fixture
async def inbox(service: Service) -> tuple[Service, dict[str, str], dict[str, dict]]:
    """Irma of Itäinen with three contacts (one urgent), Ella of Eteläinen with one."""
    tokens = {"irma": service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen"),
              "ella": service.add_staff("ella@hel.fi", ["etelainen"], name="Ella Eteläinen"),
              "lead": service.add_staff("lead@hel.fi", [], role="lead")}
    for n, (subject, text, sender) in enumerate([
            ("Asumistuki", "Kysyisin asumistuesta, 00940 Helsinki",
             "Hanna Itä <hanna@example.com>"),
            ("Häätö", "Vuokranantaja irtisanoi, häätö ensi viikolla, kaksi lasta. 00930 Helsinki",
             "Kaisa Kiire <kaisa@example.com>"),
            ("Häiriö", "Naapuri häiritsee öisin, 00920 Helsinki", "Pekka Puu <pekka@example.com>"),
            ("Vuokravelka", "Vuokravelkaa kertynyt, 00100 Helsinki",
             "Sanna Etelä <sanna@example.com>")]):
        address = sender.split("<")[1].rstrip(">")
        await send(service, mail(text, subject=subject, message_id=f"<inbox{n}@example.com>",
                                 sender=sender), sender=address)
    contacts = await service.wait_contacts(tokens["lead"], 4)
    by_name = {c["resident"]["name"].split()[0]: c for c in contacts}
    return service, tokens, by_name


async def test_urgent_first_then_the_longest_waiting_with_counts_and_waiting_time(inbox):
    service, tokens, c = inbox
    assert c["Kaisa"]["urgency"] == "urgent"
    html = await get(service, "/inbox", tokens["irma"])
    # Irma's areas: her three, the urgent one first, then the longest waiting.
    assert shown(html) == [c["Kaisa"]["id"], c["Hanna"]["id"], c["Pekka"]["id"]]
    assert "Sanna" not in html and "Vuokravelka" not in html
    assert re.search(r'data-folder="areas">3<', html) and re.search(r'data-folder="all">3<', html)
    assert re.search(r'data-folder="mine">3<', html)  # the router gave them to her
    assert "Odotusaika" in html and re.search(r'class="waiting"[^>]*>(alle minuutin|\d+ min)<',
                                              html)
    assert "Erittäin kiireellinen" in html and f"1{DASH}3 / 3" in html
    english = await get(service, "/inbox?lang=en", tokens["irma"])
    assert "Waiting time" in english and "less than a minute" in english
    assert "Urgent" in english and "Odotusaika" not in english
    swedish = await get(service, "/inbox?lang=sv", tokens["irma"])
    assert "Väntetid" in swedish and "Mycket brådskande" in swedish
    assert f'href="/contacts/{c["Kaisa"]["id"]}?lang=sv"' in swedish


@pytest.mark.parametrize(("query", "who"), [
    ("q=kaisa", ["Kaisa"]), ("q=pekka@example.com", ["Pekka"]), ("q=naapuri", ["Pekka"]),
    ("urgency=urgent", ["Kaisa"]), ("channel=email&urgency=normal", ["Hanna", "Pekka"]),
    ("assignee=none", []), ("assignee=me", ["Kaisa", "Hanna", "Pekka"]),
    ("waiting_min=600", []), ("status=closed", []), ("area=itainen", ["Kaisa", "Hanna", "Pekka"]),
])
async def test_search_and_filters_are_the_apis(inbox, query: str, who: list[str]):
    service, tokens, c = inbox
    html = await get(service, f"/inbox?folder=all&{query}", tokens["irma"])
    assert shown(html) == [c[name]["id"] for name in who]
    api = await service.get_json(f"/api/v1/contacts?folder=all&{query}", tokens["irma"])
    assert [i["id"] for i in api["items"]] == shown(html)
    if not who:
        assert "Haulla ja rajauksilla ei löytynyt yhteydenottoja." in html
        clear = re.search(r'<a href="([^"]+)">Tyhjennä haku ja rajaukset</a>', html)
        assert clear and clear.group(1) == "/inbox?folder=all"


async def test_another_areas_contact_is_not_found_by_search(inbox):
    service, tokens, c = inbox
    html = await get(service, "/inbox?folder=all&q=sanna", tokens["irma"])
    assert shown(html) == [] and "Sanna" not in html.split('id="contacts"')[1]
    lead = await get(service, "/inbox?q=sanna", tokens["lead"])
    assert shown(lead) == [c["Sanna"]["id"]]


async def test_a_filter_it_does_not_understand_is_left_out_and_named(inbox):
    service, tokens, _c = inbox
    html = await get(service, "/inbox?waiting_min=abc&folder=nope&urgency=x", tokens["irma"])
    assert len(shown(html)) == 3
    assert "Osaa hausta ei ymmärretty" in html
    assert re.search(r"jätettiin pois: [a-z_, ]*waiting_min", html)


async def test_pages_and_a_page_past_the_end(inbox):
    service, tokens, c = inbox
    first = await get(service, "/inbox?per_page=10", tokens["lead"])
    assert len(shown(first)) == 4 and "Sivu 1/" not in first  # one page: no pager
    await send(service, mail("Kysymys vuokrasopimuksesta, 00940", message_id="<p1@example.com>",
                             sender="Olli Itä <olli@example.com>"), sender="olli@example.com")
    for n in range(7):
        await send(service, mail(f"Kysymys {n}, 00940", message_id=f"<q{n}@example.com>",
                                 sender=f"Asukas {n} <a{n}@example.com>"),
                   sender=f"a{n}@example.com")
    everyone = await service.wait_contacts(tokens["lead"], 12)
    assert len(everyone) == 12
    one = await get(service, "/inbox?per_page=10", tokens["lead"])
    two = await get(service, "/inbox?per_page=10&page=2", tokens["lead"])
    assert len(shown(one)) == 10 and len(shown(two)) == 2
    assert not set(shown(one)) & set(shown(two))
    assert shown(one)[0] == c["Kaisa"]["id"]
    assert "Sivu 1/2" in one and "Sivu 2/2" in two and f"11{DASH}12 / 12" in two
    assert 'href="/inbox?folder=all&per_page=10&page=2" rel="next"' in one
    past = await get(service, "/inbox?per_page=10&page=9", tokens["lead"])
    assert shown(past) == [] and "Tämä sivu on viimeisen sivun jälkeen." in past
    assert 'href="/inbox?folder=all&per_page=10&page=2">Siirry viimeiselle sivulle' in past


async def test_the_row_endpoint_reads_one_contact_and_logs_one_read(inbox):
    service, tokens, c = inbox
    store = service.running.system.store
    before = store.run(logged, "page.inbox.row")
    hanna = await row(service, c["Hanna"]["id"], tokens["irma"], "?folder=areas")
    assert store.run(logged, "page.inbox.row") == before + 1
    assert store.run(logged, "page.inbox") == 0  # no page was read for it
    tr = unescape(hanna["row"])
    assert tr.startswith(f'<tr data-contact-id="{c["Hanna"]["id"]}"')
    assert tr.count("<tr") == 1 and "Asumistuki" in tr and "Irma Itäinen" in tr
    assert hanna["counts"] == {"mine": 3, "areas": 3, "unassigned": 0, "all": 3}
    assert hanna["total"] == 3
    # Out of this filter: null, and nothing read.
    other = await row(service, c["Hanna"]["id"], tokens["irma"], "?folder=areas&urgency=urgent")
    assert other["row"] is None and other["total"] == 1
    assert store.run(logged, "page.inbox.row") == before + 1
    # In Swedish when the page is.
    swedish = await row(service, c["Kaisa"]["id"], tokens["irma"], "?lang=sv")
    assert "Mycket brådskande" in swedish["row"] and "?lang=sv" in swedish["row"]


async def test_another_areas_contact_gives_null_and_leaks_nothing(inbox):
    service, tokens, c = inbox
    store = service.running.system.store
    before = store.run(logged, "page.inbox.row")
    sanna = await row(service, c["Sanna"]["id"], tokens["irma"], status=404)
    missing = await row(service, 99999, tokens["irma"], status=404)
    assert sanna["row"] is None
    assert {k: v for k, v in sanna.items() if k != "detail"} == {
        k: v for k, v in missing.items() if k != "detail"}
    assert "Sanna" not in str(sanna) and "Vuokravelkaa" not in str(sanna)
    assert sanna["counts"]["all"] == 3  # Irma's own counts, whatever was asked
    assert store.run(logged, "page.inbox.row") == before
    assert (await row(service, c["Sanna"]["id"], tokens["ella"]))["row"] is not None


async def test_a_closed_contact_leaves_the_open_filter_and_the_counts(inbox):
    service, tokens, c = inbox
    await service.post_json(f"/api/v1/contacts/{c['Pekka']['id']}/close", {}, tokens["irma"],
                            status=200)
    gone = await row(service, c["Pekka"]["id"], tokens["irma"], "?status=open")
    assert gone["row"] is None and gone["counts"]["areas"] == 2 and gone["total"] == 2
    still = await row(service, c["Pekka"]["id"], tokens["irma"])
    assert "Suljettu" in still["row"] and "Ei odota" in still["row"]
    html = await get(service, "/inbox", tokens["irma"])
    assert shown(html)[-1] == c["Pekka"]["id"]  # closed ones after the open


async def test_counts_for_a_page_that_just_connected(inbox):
    service, tokens, _c = inbox
    async with service.http.get(f"{service.url}/inbox/counts?urgency=urgent",
                                headers=service.auth(tokens["irma"])) as r:
        assert r.status == 200
        assert await r.json() == {"counts": {"mine": 3, "areas": 3, "unassigned": 0,
                                             "all": 3}, "total": 1, "total_capped": False}


async def test_the_assignee_and_area_filters_leave_out_what_they_should(inbox):
    """A city-wide contact (no address yet, nobody's) is in Irma's 'all' folder: the area
    filter and 'assigned to me' each leave it out."""
    service, tokens, c = inbox
    await send(service, mail("Tarvitsen apua vuokran kanssa", subject="Apua",
                             message_id="<pool@example.com>", sender="Olli <olli@example.com>"),
               sender="olli@example.com")
    pool = [i for i in await service.wait_contacts(tokens["lead"], 5) if i["area"] is None]
    assert len(pool) == 1 and pool[0]["assignee"] is None
    everything = shown(await get(service, "/inbox?folder=all", tokens["irma"]))
    assert pool[0]["id"] in everything
    mine = [c[name]["id"] for name in ("Kaisa", "Hanna", "Pekka")]
    for query in ("assignee=me", "area=itainen"):
        html = await get(service, f"/inbox?folder=all&{query}", tokens["irma"])
        assert shown(html) == mine, query
    assert shown(await get(service, "/inbox?folder=all&assignee=none", tokens["irma"])) == [
        pool[0]["id"]]
