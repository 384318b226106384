"""The automatic receipt: one per new thread, at most one per sender a day, in fi/sv/en
with a secure link instead of plain email for anything personal; never to an auto-reply,
a list, a partner or a bounce, so no mail loop can start."""

from __future__ import annotations

import asyncio
import re

from tests.conftest import Service
from tests.integration.test_email import PARTNER_PASS, mail, send
from tests.integration.test_email_reports import dsn
from tests.integration.test_rooms import until


async def with_receipts(service: Service) -> str:
    await service.restart(YHTEYS_REDIS_URL="", YHTEYS_EMAIL_RECEIPTS="1")  # jobs here
    return service.add_staff("lead@hel.fi", [], role="lead")


async def settled(service: Service, token: str, contacts: int) -> None:
    """Every mail sent so far is routed (and so has had its chance of a receipt)."""
    await service.wait_contacts(token, contacts)


async def test_a_new_thread_gets_one_receipt_with_a_secure_link(service: Service):
    lead = await with_receipts(service)
    await send(service, mail("Vuokra on rästissä, 00320 Helsinki", message_id="<t1@ex.com>"))
    [receipt] = await asyncio.to_thread(service.relay.wait_for, 1)
    assert receipt["Auto-Submitted"] == "auto-replied"
    assert receipt["To"] == "matti@example.com" and receipt["In-Reply-To"] == "<t1@ex.com>"
    body = receipt.get_body(preferencelist=("plain",)).get_content()
    assert "3 arkipäivän" in body and "3 vardagar" in body and "3 working days" in body
    assert re.search(r"/s/[0-9a-f]{48}", body)
    # The same thread again, a new thread the same day: no more receipts.
    await send(service, mail("Lisätietoa", message_id="<t2@ex.com>", In_Reply_To="<t1@ex.com>"))
    await send(service, mail("Toinen asia", subject="Toinen", message_id="<t3@ex.com>"))
    # Another resident: a receipt of their own (and the sentinel that all were handled).
    await send(service, mail("Apua", sender="liisa@example.com", message_id="<l1@ex.com>"),
               sender="liisa@example.com")
    await asyncio.to_thread(service.relay.wait_for, 2)
    await settled(service, lead, 3)
    assert [m["To"] for m in service.relay.messages] == ["matti@example.com",
                                                         "liisa@example.com"]


async def test_a_receipt_the_relay_defers_is_sent_once_when_it_takes_it(service: Service):
    lead = await with_receipts(service)
    service.relay.reject = "451 4.3.0 Try again later"
    await send(service, mail("Vuokra on rästissä", message_id="<d1@ex.com>"))
    await settled(service, lead, 1)
    await until(lambda: service.relay.receiving >= 1)
    service.relay.reject = None  # the relay is back: the retry sends it, owed once
    [receipt] = await asyncio.to_thread(service.relay.wait_for, 1)
    assert receipt["In-Reply-To"] == "<d1@ex.com>"
    # The sentinel: another resident's receipt comes after every retry of the first.
    await send(service, mail("Apua", sender="liisa@example.com", message_id="<l1@ex.com>"),
               sender="liisa@example.com")
    await asyncio.to_thread(service.relay.wait_for, 2)
    assert [m["To"] for m in service.relay.messages] == ["matti@example.com",
                                                         "liisa@example.com"]
    assert service.relay.receiving == 3  # the refused try, then one each


async def test_no_receipt_to_auto_replies_lists_partners_or_bounces(service: Service):
    lead = await with_receipts(service)
    await send(service, mail("Olen lomalla", message_id="<a1@ex.com>",
                             Auto_Submitted="auto-replied"))
    await send(service, mail("Uutiskirje", sender="news@list.example", message_id="<n1@ex>",
                             List_Id="<news.list.example>"), sender="news@list.example")
    await send(service, mail("Asiakkaan vuokravelka", sender="etuus@kela.fi",
                             message_id="<k1@kela.fi>", Authentication_Results=PARTNER_PASS),
               sender="etuus@kela.fi")
    await send(service, dsn("<never@yhteys.test>"), sender="")
    await send(service, mail("Viimeinen", sender="last@example.com", message_id="<z@ex>"),
               sender="last@example.com")
    [only] = await asyncio.to_thread(service.relay.wait_for, 1)
    await settled(service, lead, 4)
    assert [m["To"] for m in service.relay.messages] == ["last@example.com"], only
