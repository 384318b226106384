"""The retention job through the real service: the minute timer runs it once per Helsinki day
(remembered in the database, so a restart does not run it again); 90 days after a mail was
routed its raw bytes are dropped (the row stays: a redelivery is still known), expired
portal links go with what they hold; residents whose retention period ended are reported,
not erased; each run is a log line and a row admins read; `yhteys retention run` runs it
by hand."""

from __future__ import annotations

import asyncio
import logging
import time as clock_time
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox import retention
from inbox.hours import HELSINKI
from inbox.models import (
    Contact,
    Conversation,
    Message,
    RawInbound,
    Resident,
    RetentionRun,
    SecureLink,
)
from tests.conftest import Service
from tests.integration.test_cli import yhteys
from tests.integration.test_email import mail, send


def runs_on(session: Session, day: object) -> int:
    return session.scalar(select(func.count()).select_from(RetentionRun).where(
        RetentionRun.day == day)) or 0


def raw_bytes(session: Session) -> list[tuple[str, int]]:
    return [(r.state, len(r.data)) for r in session.scalars(select(RawInbound))]


def portal(session: Session) -> tuple[int, list[str | None]]:
    links = session.scalar(select(func.count()).select_from(SecureLink)) or 0
    states = list(session.scalars(select(Message.delivery_state).where(
        Message.direction == "out")))
    return links, states


async def wait_for_the_first_run(service: Service, day: object) -> None:
    store = service.running.system.store
    deadline = clock_time.monotonic() + 15
    while store.run(runs_on, day) == 0 and clock_time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def test_the_daily_run_purges_old_raw_mail_and_expired_links_once_a_day(
        service: Service, caplog: pytest.LogCaptureFixture):
    store, rules = service.running.system.store, service.settings.retention_rules
    ville = service.add_staff("ville@hel.fi", ["lantinen"], name="Ville Läntinen")
    admin = service.add_staff("admin@hel.fi", [], role="admin")
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    today = datetime.now(UTC).astimezone(HELSINKI).date()
    await wait_for_the_first_run(service, today)  # the timer's first tick at start
    assert store.run(runs_on, today) == 1
    await send(service, mail("Vuokra on rästissä, 00320 Helsinki"))
    [contact] = await service.wait_contacts(ville, 1)
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                            {"text": "Soitan huomenna", "secure": True}, ville, status=201)
    await service.wait_detail(contact["id"], ville, lambda d: d["messages"][-1][
        "delivery"]["state"] == "notified")
    assert store.run(raw_bytes)[0][0] == "processed" and store.run(raw_bytes)[0][1] > 0

    await service.restart()  # the day's run is remembered: not again
    store = service.running.system.store
    assert store.run(retention.daily, datetime.now(UTC), rules) is None
    assert store.run(runs_on, today) == 1
    assert store.run(portal)[0] == 1

    later = datetime.combine(today + timedelta(days=91), time(3), HELSINKI)
    caplog.set_level(logging.INFO, logger="inbox.retention")
    done = store.run(retention.daily, later, rules)
    assert done is not None
    assert (done["raw_purged"], done["links_removed"], done["residents_due"]) == (1, 1, 0)
    assert "1 raw mails' bytes dropped, 1 expired portal links removed" in caplog.text
    assert store.run(raw_bytes) == [("purged", 0)]
    assert store.run(portal) == (0, ["expired"])
    assert store.run(retention.daily, later + timedelta(hours=5), rules) is None  # same day
    # The mail stays in the resident's record; only the raw copy is gone.
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", ville)
    assert "rästissä" in detail["messages"][0]["text"]
    items = (await service.get_json("/api/v1/retention/runs", admin))["items"]
    assert [(i["day"], i["trigger"], i["raw_purged"], i["links_removed"]) for i in items][:2] \
        == [(later.date().isoformat(), "timer", 1, 1), (today.isoformat(), "timer", 0, 0)]
    refused = await service.get_json("/api/v1/retention/runs", lead, status=403)
    assert refused["code"] == "role.admin"


async def test_residents_whose_retention_ended_are_reported_not_erased(service: Service):
    store, rules = service.running.system.store, service.settings.retention_rules
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    await send(service, mail("Vuokra on rästissä, 00320 Helsinki"))
    [contact] = await service.wait_contacts(ville, 1)
    _, closed = await service.post_json(f"/api/v1/cases/{contact['case_id']}/close", {
        "outcome": "service_received", "note": ""}, ville, status=200)
    assert closed
    closed_on = datetime.fromisoformat(closed["closed_at"]).astimezone(HELSINKI).date()
    ends = closed_on.replace(year=closed_on.year + 10)
    before = datetime.combine(ends - timedelta(days=1), time(12), HELSINKI)
    assert store.run(retention.run, before, rules)["residents_due"] == 0
    done = store.run(retention.run, datetime.combine(ends, time(12), HELSINKI), rules)
    assert done is not None and done["residents_due_ids"] == [contact["resident_id"]]
    still = await service.get_json(f"/api/v1/contacts/{contact['id']}", ville)
    assert still["resident"]["email"] == "matti@example.com"  # reported, not erased


async def test_the_cli_runs_it_and_says_what_it_removed(service: Service):
    ran = await asyncio.to_thread(yhteys, service.env, "retention", "run")
    assert ran.returncode == 0, ran.stderr
    assert "raw mails' bytes dropped: 0, expired portal links removed: 0" in ran.stdout
    today = datetime.now(UTC).astimezone(HELSINKI).date()
    triggers = service.running.system.store.run(lambda s: sorted(s.scalars(
        select(RetentionRun.trigger).where(RetentionRun.day == today))))
    assert "cli" in triggers


async def test_a_resident_without_a_case_is_kept_from_their_latest_contact_by_both(
        service: Service):
    """One rule: erasure refuses until `years` after the latest contact, giving that day,
    and the retention run reports the resident due on that same day, not before."""
    store, rules = service.running.system.store, service.settings.retention_rules
    admin = service.add_staff("admin@hel.fi", [], role="admin")
    contacted = datetime(2026, 3, 2, 10, tzinfo=HELSINKI)

    def add(session: Session) -> int:
        resident = Resident(name="Liisa Ilman-Asiakkuutta", language="fi",
                            created_at=contacted)
        conversation = Conversation(channel="phone", created_at=contacted)
        session.add_all([resident, conversation])
        session.flush()
        session.add(Contact(channel="phone", resident_id=resident.id,
                            conversation_id=conversation.id, received_at=contacted))
        return resident.id
    rid = store.run(add)
    ends = contacted.date().replace(year=2026 + rules.years)
    status, body = await service.post_json(f"/api/v1/residents/{rid}/erase",
                                           {"reason": "Asukkaan pyyntö"}, admin)
    assert status == 409 and body and body["code"] == "retention.running"
    assert body["retention_ends"] == ends.isoformat() and body["open_case"] is False
    assert ends.isoformat() in body["detail"] and "contact" in body["detail"]
    day_before = datetime.combine(ends - timedelta(days=1), time(12), HELSINKI)
    assert rid not in store.run(retention.run, day_before, rules)["residents_due_ids"]
    on_the_day = datetime.combine(ends, time(12), HELSINKI)
    assert rid in store.run(retention.run, on_the_day, rules)["residents_due_ids"]
    service.running.system.clock.set(on_the_day)
    await service.post_json(f"/api/v1/residents/{rid}/erase", {"reason": "Asukkaan pyyntö"},
                            admin, status=200)
