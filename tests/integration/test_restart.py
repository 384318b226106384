"""A restart mid-delivery loses nothing: stored mail is routed, pending replies go out."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update

from channels.email.listener import idempotency_key
from inbox.contacts import reply
from inbox.models import Contact, Message, RawInbound
from inbox.raw import store_raw
from inbox.staff import principal_for_token
from tests.conftest import Service, free_port
from tests.integration.test_email import mail, send


async def test_mail_stored_before_a_crash_is_routed_after_restart(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await service.running.stop()  # the crash
    # The crash: the mail was committed (and 250 said) but its job never ran.
    data = mail("Vuokravelka, 00320 Helsinki", message_id="<crash@example.com>").as_bytes()
    store = service.running.system.store
    raw_id, created = store.run(store_raw, "email", idempotency_key(data), {}, data)
    assert created
    await service.restart()
    [contact] = await service.wait_contacts(lead, 1)
    assert contact["area"] == "lantinen"
    state = service.running.system.store.run(
        lambda s: s.scalar(select(RawInbound.state).where(RawInbound.id == raw_id)))
    assert state == "processed"


async def test_two_jobs_for_one_mail_at_once_make_one_contact(service: Service):
    """The timer may queue again a mail whose job is only slow: the routing transaction's
    claim on the raw row lets one of the two route it."""
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    data = mail("Vuokravelka, 00320 Helsinki", message_id="<twice@example.com>").as_bytes()
    store = service.running.system.store
    raw_id, _ = store.run(store_raw, "email", idempotency_key(data), {}, data)
    process = service.running.system.email_jobs.process
    await asyncio.gather(*(asyncio.to_thread(process, raw_id) for _ in range(4)))
    assert len(await service.wait_contacts(lead, 1)) == 1
    assert store.run(lambda s: s.scalar(select(func.count()).select_from(Contact))) == 1


async def residents_of_mails_routed_at_once(service: Service, mails: list[bytes]) -> set[int]:
    """Store the mails, route them all at once (a thread each), and name their residents."""
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    store = service.running.system.store
    raws = [store.run(store_raw, "email", idempotency_key(data), {}, data)[0]
            for data in mails]
    process = service.running.system.email_jobs.process
    await asyncio.gather(*(asyncio.to_thread(process, raw_id) for raw_id in raws))
    return {c["resident_id"] for c in await service.wait_contacts(lead, len(mails))}


async def test_two_mails_of_a_new_sender_routed_at_once_make_one_resident(service: Service):
    """Without a lock on the sender, the second routing meets the first's new identifier
    (a unique-constraint error) and its mail waits for the queue's retry."""
    mails = [mail(f"Asia {n}, 00320 Helsinki", sender="Uusi Asukas <uusi@example.com>",
                  message_id=f"<new-{n}@example.com>").as_bytes() for n in range(4)]
    assert len(await residents_of_mails_routed_at_once(service, mails)) == 1


async def test_contacts_of_several_senders_with_one_identity_code_at_once_make_one_resident(
        service: Service):
    """The code is an identifier no sender lock covers: without a lock on the identifier,
    the second routing met the first's on its unique index (at_rest's mail and chat did)."""
    mails = [mail(f"Hetuni on 131052-308T, asia {n}, 00320 Helsinki",
                  sender=f"Asukas {n} <asukas{n}@example.com>",
                  message_id=f"<hetu-{n}@example.com>").as_bytes() for n in range(4)]
    assert len(await residents_of_mails_routed_at_once(service, mails)) == 1


@pytest.mark.parametrize("left", ["pending", "retrying"])
async def test_reply_left_unfinished_by_a_crash_is_delivered_after_restart(service: Service,
                                                                          left: str):
    """Pending: the process died before handing it on. Retrying: it died while waiting
    for the retry (in the embedded default that wait lived only in its memory)."""
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    await send(service, mail("Apua, 00320 Helsinki", message_id="<p1@example.com>"))
    [contact] = await service.wait_contacts(token, 1)
    await service.running.stop()  # the crash
    store = service.running.system.store
    who = store.run(principal_for_token, token)
    message = store.run(reply, who, contact["id"], "Vastaus ennen kaatumista")
    store.run(lambda s: s.execute(update(Message).where(Message.id == message.id)
                                  .values(delivery_state=left)))
    await service.restart()
    out = await asyncio.to_thread(service.relay.wait_for, 1)
    assert "Vastaus ennen kaatumista" in out[0].get_content()
    await service.wait_detail(contact["id"], token,
                              lambda d: d["messages"][-1]["delivery"]["state"] == "sent")


async def test_a_taken_port_fails_the_start_cleanly_and_a_free_one_works(service: Service):
    """serve must say so and release what it opened (the test harness retries on it)."""
    import errno
    import socket

    from config.serve import start
    from config.settings import Settings

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    env = {**service.env, "YHTEYS_HTTP_PORT": str(free_port()), "YHTEYS_SMTP_PORT": str(port)}
    try:
        with pytest.raises(OSError) as refused:
            await start(Settings.from_env(env))
        assert refused.value.errno == errno.EADDRINUSE
        http_port = int(env["YHTEYS_HTTP_PORT"])
        with socket.socket() as probe:  # the HTTP port it had opened is free again
            probe.bind(("127.0.0.1", http_port))
    finally:
        taken.close()
    again = await start(Settings.from_env({**env, "YHTEYS_SMTP_PORT": str(free_port())}))
    await again.stop()
