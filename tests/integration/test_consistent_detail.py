"""A contact's detail is read at one moment: while its reply's delivery state and its status
change together (a bounce makes it open, a resend answered), no read shows one without the
other. On PostgreSQL's read committed each statement would see its own moment (the flake
that showed a bounced reply on an answered contact)."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import Contact, Message
from tests.conftest import Service
from tests.integration.test_email_reports import answered


def flip(session: Session, contact_id: int, bounced: bool) -> None:
    contact = session.get(Contact, contact_id)
    assert contact is not None
    reply = session.scalars(select(Message).where(
        Message.conversation_id == contact.conversation_id, Message.direction == "out")).one()
    reply.delivery_state = "bounced" if bounced else "sent"
    session.flush()  # the message first, the contact after: the order a delivery mark uses
    contact.status = "open" if bounced else "answered"


async def test_status_and_delivery_state_are_read_together(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    contact, _, _ = await answered(service, token)
    store, stop = service.running.system.store, threading.Event()
    flips: list[int] = []
    failed: list[BaseException] = []

    def writer() -> None:
        bounced = True
        try:
            while not stop.is_set():
                store.run(flip, contact["id"], bounced)
                flips.append(1)
                bounced = not bounced
                stop.wait(0.002)  # SQLite has one connection: let the readers have it too
        except BaseException as exc:  # seen by the test, not lost with the thread
            failed.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    torn, seen = [], set()
    try:
        for _ in range(150):
            detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
            state = detail["messages"][-1]["delivery"]["state"]
            seen.add(state)
            if (state == "bounced") != (detail["status"] == "open"):
                torn.append((state, detail["status"]))
            await asyncio.sleep(0)
    finally:
        stop.set()
        thread.join()
    assert failed == []
    assert seen == {"bounced", "sent"} and len(flips) > 20  # the reads met the writes
    assert torn == []
