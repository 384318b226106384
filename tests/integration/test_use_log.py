"""The use log (käyttöloki): each row says on what basis the data was read; rows cannot be
changed or removed through the database; seals chain them so that tampering by someone
who can get round that (a superuser) shows."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from inbox.audit import seal, verify
from inbox.models import AccessLog
from inbox.store import Store
from tests.conftest import BACKEND, Service
from tests.integration.test_email import mail, send


def later() -> datetime:
    """A moment by which every row written so far has settled."""
    return datetime.now(UTC) + timedelta(minutes=5)


def seal_all(store: Store) -> int:
    """Seal what has settled by `later()`: how many rows this call sealed. The service's
    minute timer may be sealing at the same moment (it holds the sealer's lock, and this
    call then seals nothing): wait for it and try again."""
    for _ in range(100):
        sealed = store.run(seal, later())
        if sealed or store.run(verify).unsealed == 0:
            return sealed
        time.sleep(0.05)
    raise AssertionError("the log was never sealed")


async def read_twice(service: Service) -> int:
    ville = service.add_staff("ville@hel.fi", ["lantinen"])
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await send(service, mail("Vuokra on rästissä, 00320 Helsinki"))
    [contact] = await service.wait_contacts(ville, 1)
    await service.get_json(f"/api/v1/contacts/{contact['id']}", ville)
    await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    return int(contact["id"])


def bases(session: Session, contact_id: int) -> list[tuple[str, str | None]]:
    return [(v, b) for v, b in session.execute(
        select(AccessLog.view, AccessLog.basis).where(AccessLog.contact_id == contact_id,
                                                      AccessLog.view == "api.contact")
        .order_by(AccessLog.id))]


async def test_each_read_says_on_what_basis(service: Service):
    contact_id = await read_twice(service)
    got = service.running.system.store.run(bases, contact_id)
    assert got == [("api.contact", "assigned"), ("api.contact", "lead")]  # routed to ville


@pytest.mark.parametrize("statement", [
    "UPDATE access_log SET staff_id = NULL", "DELETE FROM access_log",
    "UPDATE access_log_seals SET hash = 'x'", "DELETE FROM access_log_seals"])
async def test_the_application_cannot_change_or_remove_log_rows(service: Service,
                                                               statement: str):
    await read_twice(service)
    store = service.running.system.store
    assert seal_all(store) > 0
    with pytest.raises(DBAPIError, match="append-only"):
        store.run(lambda s: s.execute(text(statement)))
    assert store.run(verify).intact


def _tamper(session: Session) -> None:
    """What only a superuser could do: switch the guard off, change a row, switch it on."""
    if BACKEND == "postgres":
        session.execute(text("ALTER TABLE access_log DISABLE TRIGGER access_log_append_only"))
        session.execute(text("UPDATE access_log SET staff_id = NULL WHERE id = "
                             "(SELECT min(id) FROM access_log)"))
        session.execute(text("ALTER TABLE access_log ENABLE TRIGGER access_log_append_only"))
    else:
        session.execute(text("DROP TRIGGER access_log_no_update"))
        session.execute(text("UPDATE access_log SET staff_id = NULL WHERE id = "
                             "(SELECT min(id) FROM access_log)"))


async def test_a_changed_row_breaks_the_chain(service: Service):
    await read_twice(service)
    store = service.running.system.store
    sealed = seal_all(store)
    assert sealed > 0 and store.run(seal, later()) == 0  # nothing twice
    before = store.run(verify)
    assert before.intact and before.rows == sealed and before.unsealed == 0
    store.run(_tamper)
    after = store.run(verify)
    assert not after.intact and after.broken_at is not None
    assert "changed" in after.reason


async def test_rows_whose_ids_and_times_disagree_leave_no_hole_in_the_chain(service: Service):
    """Two writers at once may get their ids in the other order than their times: a seal
    stops at the first row not yet settled, so the later one is never skipped for good."""
    store, now = service.running.system.store, datetime.now(UTC)

    def two_rows(session: Session) -> None:
        session.add(AccessLog(view="api.contact", action="read", at=now))  # lower id, newer
        session.flush()
        session.add(AccessLog(view="api.contact", action="read",
                              at=now - timedelta(minutes=5)))
    store.run(two_rows)
    assert store.run(seal, now) == 0  # the lower id has not settled: nothing past it either
    seal_all(store)
    chain = store.run(verify)
    assert chain.intact and chain.rows == 2 and chain.unsealed == 0
