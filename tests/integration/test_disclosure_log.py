"""The disclosure log and the auditor: mail to a partner that left is a disclosure (one that
was held is not), a secure message is one too; only auditors read the logs, their reading is
itself logged, an auditor reads no resident's record; a resident's log report comes as
JSON, CSV and PDF; a tampered disclosure chain shows."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import trustme
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from inbox.audit import verify
from inbox.disclosures import LIMIT
from inbox.hours import HELSINKI
from inbox.models import AccessLog
from tests.conftest import Service
from tests.integration.test_email import mail, send
from tests.integration.test_partner_lanes import (  # noqa: F401 (fixtures)
    TLSRelay,
    ca,
    reply_to_kela,
    tls_env,
    tls_relay,
)
from tests.integration.test_use_log import seal_all


async def test_partner_mail_that_was_held_is_no_disclosure(service: Service):
    held = await reply_to_kela(service)
    assert held["state"] == "failed"
    auditor = service.add_staff("auditor@hel.fi", [], role="auditor")
    assert (await service.get_json("/api/v1/audit/disclosures", auditor))["items"] == []


async def test_partner_mail_that_left_is_a_disclosure(
        service: Service, ca: trustme.CA, tls_relay: TLSRelay, tmp_path: Path):  # noqa: F811
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    sent = await reply_to_kela(service, **tls_env(tls_relay, ca_file))
    assert sent["state"] == "sent"
    auditor = service.add_staff("auditor@hel.fi", [], role="auditor")
    [row] = (await service.get_json("/api/v1/audit/disclosures", auditor))["items"]
    assert (row["kind"], row["recipient"], row["basis"]) == (
        "partner_mail", "Kela", "partner_cooperation")
    assert row["staff"] and row["contact_id"]


async def resident_with_a_secure_reply(service: Service) -> tuple[dict, str, str]:
    ville = service.add_staff("ville@hel.fi", ["lantinen"], name="Ville Läntinen")
    await send(service, mail("Vuokra on rästissä, 00320 Helsinki"))
    [contact] = await service.wait_contacts(ville, 1)
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                            {"text": "Soitan huomenna", "secure": True}, ville, status=201)
    detail = await service.wait_detail(contact["id"], ville, lambda d: d["messages"][-1][
        "delivery"]["state"] == "notified")
    return detail, ville, service.add_staff("aino@hel.fi", [], role="auditor",
                                            name="Aino Auditoija")


async def test_only_auditors_read_the_logs_and_their_reading_is_logged(service: Service):
    detail, ville, auditor = await resident_with_a_secure_reply(service)
    resident = detail["resident"]["id"]
    refused = await service.get_json("/api/v1/audit/use-log", ville, status=403)
    assert refused["code"] == "role.auditor"
    await service.get_json(f"/api/v1/residents/{resident}/access-log", ville, status=403)
    # An auditor reads logs, never a resident's record.
    await service.get_json(f"/api/v1/contacts/{detail['id']}", auditor, status=404)
    assert (await service.get_json("/api/v1/contacts?folder=all", auditor))["items"] == []
    uses = (await service.get_json(f"/api/v1/audit/use-log?resident={resident}",
                                   auditor))["items"]
    assert {"Ville Läntinen"} <= {u["staff"] for u in uses}
    assert {u["basis"] for u in uses if u["staff"] == "Ville Läntinen"} <= {
        "assigned", "own_area"}
    [given] = (await service.get_json("/api/v1/audit/disclosures", auditor))["items"]
    assert (given["kind"], given["recipient"]) == ("secure_message", "resident")

    def readings(session: object) -> int:
        return session.scalar(select(func.count()).select_from(AccessLog).where(  # type: ignore[attr-defined]
            AccessLog.view.like("audit.%")))
    assert service.running.system.store.run(readings) == 2


async def test_a_residents_log_report_as_json_csv_and_pdf(service: Service):
    detail, _, auditor = await resident_with_a_secure_reply(service)
    resident = detail["resident"]["id"]
    today = datetime.now(HELSINKI).date().isoformat()  # the period is a Helsinki one
    path = f"/api/v1/residents/{resident}/access-log?from={today}&to={today}"
    report = await service.get_json(path, auditor)
    assert report["resident"]["id"] == resident and report["uses"]
    assert [d["kind"] for d in report["disclosures"]] == ["secure_message"]
    async with service.http.get(service.url + path + "&format=csv",
                                headers=service.auth(auditor)) as r:
        assert r.status == 200 and r.content_type == "text/csv"
        rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert {row["log"] for row in rows} == {"use", "disclosure"}
    async with service.http.get(service.url + path + "&format=pdf",
                                headers=service.auth(auditor)) as r:
        assert r.status == 200 and r.content_type == "application/pdf"
        assert (await r.read()).startswith(b"%PDF")
    # Giving the report is itself a disclosure, to the resident, on the right to log data.
    given = (await service.get_json("/api/v1/audit/disclosures", auditor))["items"]
    assert [g["basis"] for g in given if g["kind"] == "log_report"] == [
        "right_to_log_data"] * 3
    missing = await service.get_json("/api/v1/residents/999999/access-log", auditor,
                                     status=404)
    assert missing["code"] == "resident.unknown"
    reversed_ = await service.get_json(
        f"/api/v1/residents/{resident}/access-log?from=2026-02-01&to=2026-01-01", auditor,
        status=400)
    assert reversed_["code"] == "period.reversed"


async def test_the_disclosure_chain_is_sealed_and_intact(service: Service):
    await resident_with_a_secure_reply(service)
    store = service.running.system.store
    assert seal_all(store) > 0
    verdict = store.run(verify, "disclosure")
    assert verdict.intact and verdict.rows == 1


async def test_a_residents_log_report_holds_every_row_however_many(service: Service):
    """Their right is to all of it: more rows than a listing shows are all in the report."""
    detail, _, auditor = await resident_with_a_secure_reply(service)
    resident = detail["resident"]["id"]
    extra = LIMIT + 5

    def many(session: Session) -> int:
        staff = session.scalar(select(AccessLog.staff_id).where(
            AccessLog.resident_id == resident, AccessLog.staff_id.is_not(None)).limit(1))
        session.execute(insert(AccessLog), [
            {"staff_id": staff, "view": "contact", "action": "read", "basis": "own_area",
             "resident_id": resident} for _ in range(extra)])
        return session.scalar(select(func.count()).select_from(AccessLog).where(
            AccessLog.resident_id == resident)) or 0
    stored = service.running.system.store.run(many)
    assert stored > LIMIT
    report = await service.get_json(f"/api/v1/residents/{resident}/access-log", auditor)
    assert len(report["uses"]) == stored + 1  # and this reading, a use too
