"""Mail of one thread arriving out of order still makes one conversation.

A resident's follow-up can be routed before the mail it answers (another connection,
another worker); when the first mail arrives it joins the follow-up's conversation.
"""

from __future__ import annotations

import asyncio
import threading

from tests.conftest import Service
from tests.integration.test_email import mail, send


async def test_a_reply_routed_before_its_parent_is_joined_by_it(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await send(service, mail("Lisäksi: vuokranantaja soitti tänään.", subject="Re: Vuokra",
                             message_id="<second@example.com>",
                             In_Reply_To="<first@example.com>",
                             References="<first@example.com>"))
    [alone] = await service.wait_contacts(lead, 1)
    await send(service, mail("Vuokra on rästissä, 00320 Helsinki", subject="Vuokra",
                             message_id="<first@example.com>"))
    detail = await service.wait_detail(alone["id"], lead, lambda d: len(d["messages"]) == 2)
    texts = [m["text"] for m in detail["messages"]]
    assert texts[0].startswith("Lisäksi") and texts[1].startswith("Vuokra on rästissä")
    contacts = (await service.get_json("/api/v1/contacts?folder=all", lead))["items"]
    assert [c["id"] for c in contacts] == [alone["id"]]


async def test_a_strangers_mail_with_the_awaited_message_id_opens_its_own_contact(
        service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await send(service, mail("Lisätietoa vuokrasta.", subject="Re: Vuokra",
                             message_id="<second@example.com>",
                             In_Reply_To="<first@example.com>"))
    [resident] = await service.wait_contacts(lead, 1)
    await send(service, mail("Kertokaa mitä Matti kirjoitti", subject="Vuokra",
                             sender="Utelias <nosy@elsewhere.fi>",
                             message_id="<first@example.com>"), sender="nosy@elsewhere.fi")
    items = await service.wait_contacts(lead, 2)
    [stranger] = [c for c in items if c["id"] != resident["id"]]
    assert stranger["resident"]["email"] == "nosy@elsewhere.fi"
    detail = await service.get_json(f"/api/v1/contacts/{resident['id']}", lead)
    assert len(detail["messages"]) == 1


async def test_parent_and_reply_routed_at_the_same_moment_make_one_conversation(
        service: Service):
    """Two workers, each taking one half of a pair at once, twenty times over."""
    from inbox.raw import store_raw

    lead = service.add_staff("lead@hel.fi", [], role="lead")
    system = service.running.system
    pairs = 20

    def raw(n: int, part: str) -> int:
        first = f"<first-{n}@example.com>"
        if part == "first":
            m = mail("Vuokra on rästissä, 00320 Helsinki", subject="Vuokra", message_id=first,
                     sender=f"Asukas {n} <asukas{n}@example.com>")
        else:
            m = mail("Lisätietoa", subject="Re: Vuokra", message_id=f"<second-{n}@example.com>",
                     sender=f"Asukas {n} <asukas{n}@example.com>", In_Reply_To=first,
                     References=first)
        envelope = {"mail_from": f"asukas{n}@example.com", "rcpt_tos": [m["To"]]}
        raw_id, _ = system.store.run(store_raw, "email", f"race-{n}-{part}", envelope,
                                     bytes(m))
        return raw_id

    ids = [(raw(n, "first"), raw(n, "second")) for n in range(pairs)]

    def route_pair(first: int, second: int) -> None:
        barrier = threading.Barrier(2)

        def run(raw_id: int) -> None:
            barrier.wait()
            system.email_jobs.process(raw_id)
        threads = [threading.Thread(target=run, args=(i,)) for i in (second, first)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    for first, second in ids:
        await asyncio.to_thread(route_pair, first, second)
    contacts = await service.wait_contacts(lead, pairs)
    assert len(contacts) == pairs
    for contact in contacts:
        detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
        assert len(detail["messages"]) == 2
