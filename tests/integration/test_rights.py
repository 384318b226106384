"""The resident's rights through the real service: the export holds every kind of record
made through the real channels (mail with an attachment over SMTP, a logged call, a
callback request, a case with steps, notes and a follow-up) as JSON and as a PDF, and each
export is a disclosure; erasure is for admins with a reason, refused while a case is open
or its retention period runs (with the day it ends), and afterwards the resident's name,
address, number and words are in no API answer and nowhere in the database, while the
reports still count the case and the logs keep their rows."""

from __future__ import annotations

import base64
import os
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import LargeBinary, select
from sqlalchemy.orm import Session

from inbox.hours import HELSINKI
from inbox.models import Base, Contact, RawInbound, Resident, ResidentIdentifier
from tests.conftest import Service
from tests.integration.test_email import SERVICE, send

NAME, EMAIL, PHONE, E164 = "Matti Meikäläinen", "matti.m@example.com", "0509876543", "+358509876543"
PDF = b"%PDF-1.4\n% lasku\n%%EOF\n"
WORDS = ("Kalliotie", "Soitan huomenna", "Kotikäynti sovittu", "Soita perään",
         "Matti soitti vuokrasta", "Soittopyyntö Kalliotieltä", "Vuokrat maksettu",
         "Sisäinen huomio", "Vuokrarästi")
MARKERS = ("Meikäläinen", EMAIL, PHONE, E164, *WORDS)


async def resident_with_everything(service: Service) -> dict[str, Any]:
    ville = service.add_staff("ville@hel.fi", ["lantinen"], name="Ville Läntinen")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = f"{NAME} <{EMAIL}>", SERVICE, "Vuokrarästi"
    mail["Message-ID"] = "<rights-1@example.org>"
    mail.set_content("Asun Kalliotie 3, 00320 Helsinki. Vuokra on rästissä.")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="lasku.pdf")
    await send(service, mail, sender=EMAIL)
    [contact] = await service.wait_contacts(ville, 1)
    resident, case = contact["resident_id"], contact["case_id"]
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                            {"text": "Soitan huomenna", "secure": False}, ville, status=201)
    await service.post_json(f"/api/v1/contacts/{contact['id']}/notes",
                            {"text": "Sisäinen huomio"}, ville, status=201)
    _, call = await service.post_json("/api/v1/calls", {
        "phone": PHONE, "direction": "in", "notes": "Matti soitti vuokrasta",
        "resident_id": resident}, ville, status=201)
    assert call and call["resident_id"] == resident
    _, asked = await service.post_json("/api/v1/callbacks", {
        "phone": PHONE, "postal_code": "00320", "language": "fi",
        "text": "Soittopyyntö Kalliotieltä"}, status=201)
    assert asked
    contacts = (await service.get_json("/api/v1/contacts?folder=all", ville))["items"]
    [request] = [c for c in contacts if c["resident_id"] is None]
    await service.post_json(f"/api/v1/contacts/{request['id']}/possible-match",
                            {"action": "confirm"}, ville, status=200)
    await service.post_json(f"/api/v1/cases/{case}/steps", {"code": 1}, ville, status=201)
    await service.post_json(f"/api/v1/cases/{case}/notes", {"text": "Kotikäynti sovittu"},
                            ville, status=201)
    await service.post_json(f"/api/v1/cases/{case}/follow-ups", {
        "due": (date.today() + timedelta(days=30)).isoformat(), "kind": "follow_up",
        "note": "Soita perään"}, ville, status=201)
    return {"ville": ville, "resident": resident, "case": case, "contact": contact["id"],
            "callback": asked["id"]}


async def test_the_export_holds_every_record_as_json_and_pdf_and_is_a_disclosure(
        service: Service):
    world = await resident_with_everything(service)
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    rid = world["resident"]
    data = await service.get_json(f"/api/v1/residents/{rid}/export", world["ville"])
    who = data["resident"]
    assert who["name"] == NAME and who["postal_code"] == "00320"
    assert {(i["kind"], i["value"]) for i in who["identifiers"]} >= {
        ("email", EMAIL), ("phone", E164)}
    assert sorted(c["channel"] for c in data["contacts"]) == ["email", "phone", "phone"]
    mail = next(c for c in data["contacts"] if c["channel"] == "email")
    assert [m["direction"] for m in mail["messages"]] == ["in", "out"]
    assert "Kalliotie 3" in mail["messages"][0]["text"]
    assert mail["messages"][1]["text"] == "Soitan huomenna"
    [attachment] = mail["messages"][0]["attachments"]
    assert (attachment["filename"], attachment["content_type"]) == ("lasku.pdf",
                                                                    "application/pdf")
    assert base64.b64decode(attachment["data_base64"]) == PDF  # opened from its sealed bytes
    assert [n["text"] for n in mail["notes"]] == ["Sisäinen huomio"]
    [callback] = [cb for c in data["contacts"] for cb in c["callbacks"]]
    assert (callback["phone"], callback["topic"]) == (E164, "Soittopyyntö Kalliotieltä")
    assert [c["notes"] for c in data["calls"]] == ["Matti soitti vuokrasta"]
    [case] = data["cases"]
    assert case["id"] == world["case"] and case["status"] == "open"
    assert ("step", "1") in {(e["kind"], e["code"]) for e in case["events"]}
    assert "Kotikäynti sovittu" in [e["text"] for e in case["events"]]
    assert [f["note"] for f in case["follow_ups"]] == ["Soita perään"]
    async with service.http.get(f"{service.url}/api/v1/residents/{rid}/export?format=pdf",
                                headers=service.auth(lead)) as r:
        pdf = await r.read()
        assert r.status == 200 and r.content_type == "application/pdf", pdf[:300]
    assert pdf.startswith(b"%PDF")
    if os.environ.get("YHTEYS_SCREENSHOTS"):  # to look at it
        (Path(os.environ["YHTEYS_SCREENSHOTS"]) / "export.pdf").write_bytes(pdf)
    auditor = service.add_staff("aino@hel.fi", [], role="auditor")
    given = (await service.get_json(f"/api/v1/audit/disclosures?resident={rid}",
                                    auditor))["items"]
    assert [(d["kind"], d["recipient"], d["basis"], d["detail"]) for d in given
            if d["kind"] == "export"] == [("export", "resident", "resident_request", "pdf"),
                                          ("export", "resident", "resident_request", "json")]
    uses = (await service.get_json(f"/api/v1/audit/use-log?resident={rid}", auditor))["items"]
    assert {u["staff"] for u in uses if u["view"] == "rights.export"} == {"Ville Läntinen",
                                                                          "Lead"}


async def test_who_may_export_and_a_resident_that_does_not_exist(service: Service):
    world = await resident_with_everything(service)
    rid = world["resident"]
    irma = service.add_staff("irma@hel.fi", ["itainen"])
    auditor = service.add_staff("aino@hel.fi", [], role="auditor")
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    assert (await service.get_json(f"/api/v1/residents/{rid}/export", irma, 404))
    refused = await service.get_json(f"/api/v1/residents/{rid}/export", auditor, 403)
    assert refused["code"] == "role.export"
    missing = await service.get_json("/api/v1/residents/999999/export", lead, 404)
    assert missing["code"] == "resident.unknown"
    given = (await service.get_json("/api/v1/audit/disclosures", auditor))["items"]
    assert [d for d in given if d["kind"] == "export"] == []  # nothing left: nothing logged


def _helsinki_day(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone(HELSINKI).date()


def _left_in_database(session: Session) -> list[str]:
    """Every marker still found in any text, JSON or byte column of any table."""
    found = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            for column, value in zip(table.columns, row, strict=True):
                if value is None:
                    continue
                text = (value.decode("utf-8", "replace")
                        if isinstance(column.type, LargeBinary) else str(value))
                found += [f"{table.name}.{column.name}: {m}" for m in MARKERS if m in text]
    return found


async def test_erasure_waits_for_retention_then_leaves_no_trace_but_the_counts(
        service: Service):
    world = await resident_with_everything(service)
    rid, ville = world["resident"], world["ville"]
    admin = service.add_staff("admin@hel.fi", [], role="admin")
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    auditor = service.add_staff("aino@hel.fi", [], role="auditor")
    path = f"/api/v1/residents/{rid}/erase"
    for token in (ville, lead, auditor):  # admins only
        assert (await service.post_json(path, {"reason": "pyyntö"}, token))[0] == 403
    status, body = await service.post_json(path, {}, admin)
    assert status == 400 and body and body["code"] == "reason.required"
    status, body = await service.post_json(path, {"reason": "Asukkaan pyyntö"}, admin)
    assert status == 409 and body and body["code"] == "retention.running"
    assert body["retention_ends"] is None and body["open_case"] is True
    closed = (await service.post_json(f"/api/v1/cases/{world['case']}/close", {
        "outcome": "eviction_prevented", "note": "Vuokrat maksettu"}, ville, status=200))[1]
    assert closed
    closed_on = _helsinki_day(closed["closed_at"])
    ends = closed_on.replace(year=closed_on.year + 10)
    status, body = await service.post_json(path, {"reason": "Asukkaan pyyntö"}, admin)
    assert status == 409 and body and body["code"] == "retention.running"
    assert body["retention_ends"] == ends.isoformat()
    assert ends.isoformat() in body["detail"]
    before = service.running.system.store.run(_left_in_database)
    assert {m for m in MARKERS if any(f.endswith(f": {m}") for f in before)} == set(
        MARKERS) - {PHONE}  # stored as E.164: the search finds what is there
    service.running.system.clock.set(datetime.combine(ends, time(9), HELSINKI))
    status, body = await service.post_json(path, {"reason": "Asukkaan pyyntö, säilytys "
                                                  "päättynyt"}, admin)
    assert status == 200 and body and body["contacts"] == 3
    again = await service.post_json(path, {"reason": "uudelleen"}, admin)
    assert again[0] == 409 and again[1] and again[1]["code"] == "resident.erased"

    answers = [await service.get_json(p, lead) for p in (
        "/api/v1/contacts?folder=all", f"/api/v1/contacts/{world['contact']}",
        f"/api/v1/cases/{world['case']}", "/api/v1/callbacks", "/api/v1/calls",
        f"/api/v1/residents/{rid}/export", "/api/v1/residents?q=Meik",
        f"/api/v1/residents?q={PHONE}")]
    shown = str(answers)
    assert [m for m in MARKERS if m in shown] == []
    left = service.running.system.store.run(_left_in_database)
    assert left == []
    # The case's codes and dates stay: the report of its closing day still counts it.
    report = await service.get_json(
        f"/api/v1/reports/outcomes?from={closed_on}&to={closed_on}", lead)
    assert {i["code"]: i["count"] for i in report["items"]}.get("eviction_prevented") == 1
    # The logs keep their rows, and the erasure is one of them.
    uses = (await service.get_json(f"/api/v1/audit/use-log?resident={rid}", auditor))["items"]
    assert ("rights.erase", "write") in {(u["view"], u["action"]) for u in uses}
    assert len(uses) > 10

    def reason(session: Session) -> tuple[str | None, datetime | None]:
        resident = session.get(Resident, rid)
        assert resident is not None
        return resident.erasure_reason, resident.erased_at
    why, when = service.running.system.store.run(reason)
    assert why == "Asukkaan pyyntö, säilytys päättynyt" and when is not None


async def test_a_resident_with_no_case_may_be_erased_at_once(service: Service):
    admin = service.add_staff("admin@hel.fi", [], role="admin")

    def add(session: Session) -> int:
        resident = Resident(name="Liisa Ilman-Asiakkuutta", postal_code="00100",
                            language="sv", created_at=datetime.now(UTC))
        session.add(resident)
        session.flush()
        session.add(ResidentIdentifier(resident_id=resident.id, kind="email",
                                       value="liisa@example.com"))
        return resident.id
    rid = service.running.system.store.run(add)
    _, done = await service.post_json(f"/api/v1/residents/{rid}/erase",
                                      {"reason": "Ei asiakkuutta"}, admin, status=200)
    assert done and done["identifiers"] == 1

    def left(session: Session) -> tuple[object, ...]:
        resident = session.get(Resident, rid)
        assert resident is not None
        return resident.name, resident.postal_code, [i.value for i in resident.identifiers]
    assert service.running.system.store.run(left) == (None, None, [])
    missing = await service.post_json("/api/v1/residents/999999/erase", {"reason": "x"}, admin)
    assert missing[0] == 404


async def test_a_mail_delivered_again_after_erasure_brings_nothing_back(service: Service):
    """The raw mail's key (a hash, nothing of the resident) outlives the erasure, so the
    same mail delivered again is recognised: no new raw mail, no new contact."""
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    admin = service.add_staff("admin@hel.fi", [], role="admin")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = f"{NAME} <{EMAIL}>", SERVICE, "Vuokrarästi"
    mail["Message-ID"] = "<rights-again@example.org>"
    mail.set_content("Asun Kalliotie 3, 00320 Helsinki. Vuokra on rästissä.")
    await send(service, mail, sender=EMAIL)
    [contact] = await service.wait_contacts(ville, 1)
    _, closed = await service.post_json(f"/api/v1/cases/{contact['case_id']}/close", {
        "outcome": "service_received", "note": ""}, ville, status=200)
    assert closed
    closed_on = _helsinki_day(closed["closed_at"])
    service.running.system.clock.set(datetime.combine(
        closed_on.replace(year=closed_on.year + 10), time(9), HELSINKI))
    await service.post_json(f"/api/v1/residents/{contact['resident_id']}/erase",
                            {"reason": "Asukkaan pyyntö"}, admin, status=200)

    def counts(session: Session) -> tuple[int, int]:
        return (len(session.scalars(select(RawInbound.id)).all()),
                len(session.scalars(select(Contact.id)).all()))
    before = service.running.system.store.run(counts)
    await send(service, mail, sender=EMAIL)  # the listener has stored it (or not) by now
    assert service.running.system.store.run(counts) == before == (1, 1)
    assert service.running.system.store.run(_left_in_database) == []
