"""Bounces and auto-replies over real SMTP: a bounce marks the reply it reports and opens
nothing; a delay changes nothing; a report for mail we never sent waits for a person; an
out-of-office stays on its thread and reopens nothing."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import pytest

from tests.conftest import Service
from tests.integration.test_email import SERVICE, mail, send


def dsn(original_id: str, action: str = "failed", status: str = "5.1.1",
        recipient: str = "matti@example.com") -> bytes:
    """An RFC 3464 delivery status notification as a relay's MTA writes it."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@relay.example>\r\n"
        f"To: {SERVICE}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn.{action}.{original_id.strip('<>')}>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\n"
        "This is the mail system. Your message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; relay.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected\r\n"
        "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {SERVICE}\r\nTo: {recipient}\r\nMessage-ID: {original_id}\r\n"
        "Subject: Re: Apua\r\n\r\n--B--\r\n").encode()


async def answered(service: Service, token: str) -> tuple[dict, EmailMessage, str]:
    await send(service, mail("Vuokra on rästissä, 00320 Helsinki"))
    [contact] = await service.wait_contacts(token, 1)
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                            {"text": "Soitan", "secure": False}, token, status=201)
    [out] = await asyncio.to_thread(service.relay.wait_for, 1)
    await service.wait_detail(contact["id"], token,
                              lambda d: d["messages"][-1]["delivery"]["state"] == "sent")
    return contact, out, service.relay.return_paths[0]


async def test_a_bounce_to_the_verp_address_marks_the_reply_and_opens_nothing(
        service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    contact, out, return_path = await answered(service, token)
    assert return_path.startswith("bounces+") and return_path.endswith("@yhteys.test")
    await send(service, dsn(str(out["Message-ID"])), rcpt=return_path, sender="")
    detail = await service.wait_detail(
        contact["id"], token, lambda d: d["messages"][-1]["delivery"]["state"] == "bounced")
    delivery = detail["messages"][-1]["delivery"]
    assert delivery["state"] == "bounced" and "5.1.1" in delivery["error"]
    assert detail["status"] == "open"  # not answered: needs action
    assert len(await service.wait_contacts(token, 1)) == 1  # no contact for the bounce
    assert len(detail["messages"]) == 2


async def test_a_send_job_run_again_after_the_bounce_sends_nothing(service: Service):
    """A duplicate job (a worker's abandoned job run again) must not resend a bounced reply
    nor make it look answered: only a counsellor's retry sends it again."""
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    contact, out, return_path = await answered(service, token)
    await send(service, dsn(str(out["Message-ID"])), rcpt=return_path, sender="")
    detail = await service.wait_detail(
        contact["id"], token, lambda d: d["messages"][-1]["delivery"]["state"] == "bounced")
    # The job itself, run again to its end (as a worker's abandoned job would be).
    await asyncio.to_thread(service.running.system.email_jobs.send,
                            detail["messages"][-1]["id"])
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
    assert detail["messages"][-1]["delivery"]["state"] == "bounced"
    assert detail["status"] == "open"
    assert len(service.relay.messages) == 1


async def test_a_bounce_to_the_service_address_is_matched_by_the_quoted_message_id(
        service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    contact, out, _ = await answered(service, token)
    await send(service, dsn(str(out["Message-ID"])), sender="")
    detail = await service.wait_detail(
        contact["id"], token, lambda d: d["messages"][-1]["delivery"]["state"] == "bounced")
    assert detail["messages"][-1]["delivery"]["state"] == "bounced"
    items = (await service.get_json("/api/v1/contacts?folder=all", token))["items"]
    assert len(items) == 1


async def test_a_delay_report_changes_nothing(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    contact, out, return_path = await answered(service, token)
    await send(service, dsn(str(out["Message-ID"]), action="delayed", status="4.4.7"),
               rcpt=return_path, sender="")
    # A report for mail we never sent (sent after the delay: processed after it, in order).
    await send(service, dsn("<never-sent@yhteys.test>"), sender="")
    unparsed: list[dict] = []
    for _ in range(300):
        unparsed = (await service.get_json("/api/v1/unparsed", lead))["items"]
        if unparsed:
            break
        await asyncio.sleep(0.05)
    [kept] = unparsed
    assert "did not send" in kept["error"]
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
    assert detail["messages"][-1]["delivery"]["state"] == "sent"
    assert detail["status"] == "answered"
    assert len((await service.get_json("/api/v1/contacts?folder=all", token))["items"]) == 1


async def test_an_out_of_office_reply_stays_on_its_thread_and_reopens_nothing(
        service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    contact, out, _ = await answered(service, token)
    await service.post_json(f"/api/v1/contacts/{contact['id']}/close", {}, token, status=200)
    await send(service, mail("Olen lomalla 5.1. asti.", subject="Automaattinen vastaus",
                             message_id="<ooo@example.com>", In_Reply_To=str(out["Message-ID"]),
                             Auto_Submitted="auto-replied"))
    detail = await service.wait_detail(contact["id"], token, lambda d: len(d["messages"]) == 3)
    assert detail["messages"][-1]["text"] == "Olen lomalla 5.1. asti."
    assert detail["status"] == "closed"
    assert len(service.relay.messages) == 1  # and nobody answered it


async def test_a_mail_whose_routing_fails_is_shown_for_manual_handling(service: Service):
    """Whatever a rule trips over, a mail that got 250 never stays invisible in "stored"."""
    from channels.email.jobs import EmailJobs
    from inbox.raw import store_raw, waiting_raw
    from router.context import Context
    from router.pipeline import Router

    def broken_rule(ctx: Context) -> None:
        raise ValueError("a rule tripped over this mail")

    lead = service.add_staff("lead@hel.fi", [], role="lead")
    store = service.running.system.store
    raw_id, _ = store.run(store_raw, "email", "email:test-broken", {"rcpt_tos": [SERVICE]},
                          mail("Apua 00320 Helsinki", message_id="<broken@x>").as_bytes())
    jobs = EmailJobs(store, Router(b"k", rules=(broken_rule,)), SERVICE, b"k", None, 1)
    await asyncio.to_thread(jobs.process, raw_id)
    [kept] = (await service.get_json("/api/v1/unparsed", lead))["items"]
    assert kept["id"] == raw_id and "a rule tripped over this mail" in kept["error"]
    assert raw_id not in store.run(waiting_raw)
    # Only leads see it; once the cause is fixed, a lead puts it back in line.
    counsellor = service.add_staff("ville@hel.fi", ["lantinen"])
    await service.get_json("/api/v1/unparsed", counsellor, status=403)
    await service.post_json(f"/api/v1/unparsed/{raw_id}/retry", {}, counsellor, status=403)
    await service.post_json(f"/api/v1/unparsed/{raw_id}/retry", {}, lead, status=202)
    [contact] = await service.wait_contacts(lead, 1)  # the service's own router this time
    assert contact["area"] == "lantinen"
    assert (await service.get_json("/api/v1/unparsed", lead))["items"] == []
    await service.post_json(f"/api/v1/unparsed/{raw_id}/retry", {}, lead, status=404)


async def test_one_job_routes_a_commits_mails_and_a_busy_one_waits_alone(service: Service):
    """The listener queues what one group commit stored as one job. A mail the database
    refuses for now (a lock timeout) is tried again by the job's retry; its neighbours are
    routed meanwhile, and the retry does not route them twice."""
    from sqlalchemy.exc import OperationalError

    from channels.email.jobs import EmailJobs
    from inbox.raw import store_raw, waiting_raw
    from router.context import Context
    from router.pipeline import DEFAULT_RULES, Router

    busy = {"once": True}

    def busy_once(ctx: Context) -> None:
        if "Toinen" in ctx.text and busy.pop("once", False):
            raise OperationalError("SELECT", {}, Exception("canceling statement: lock timeout"))

    lead = service.add_staff("lead@hel.fi", [], role="lead")
    store = service.running.system.store
    ids = [store.run(store_raw, "email", f"email:batch-{n}", {"rcpt_tos": [SERVICE]},
                     mail(f"{word} viesti, 00320 Helsinki", subject=word,
                          sender=f"r{n}@example.com",
                          message_id=f"<batch-{n}@x>").as_bytes())[0]
           for n, word in enumerate(("Ensimmäinen", "Toinen", "Kolmas"))]
    jobs = EmailJobs(store, Router(b"k", rules=(busy_once, *DEFAULT_RULES)), SERVICE, b"k",
                     None, 1)
    with pytest.raises(OperationalError):
        await asyncio.to_thread(jobs.process, *ids)
    assert store.run(waiting_raw) == [ids[1]]
    assert len(await service.wait_contacts(lead, 2)) == 2
    await asyncio.to_thread(jobs.process, *ids)  # the queue's retry of the same job
    assert store.run(waiting_raw) == []
    contacts = await service.wait_contacts(lead, 3)
    await asyncio.sleep(0.3)  # nothing more comes
    assert len((await service.get_json("/api/v1/contacts?folder=all", lead))["items"]) == 3
    assert sorted(c["summary"][:6] for c in contacts) == ["Ensimm", "Kolmas", "Toinen"]


async def test_one_reply_sent_by_several_at_once_leaves_once(service: Service):
    """A retried job and a restart's redelivery may meet on one reply while the relay is
    slow: one of them sends it, the others leave it."""
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    await send(service, mail("Apua, 00320 Helsinki", message_id="<once@example.com>"))
    [contact] = await service.wait_contacts(token, 1)
    service.relay.delay = 1.0
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                            {"text": "Soitan huomenna", "secure": False}, token, status=201)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
    again = service.running.system.email_jobs.send
    await asyncio.gather(*(asyncio.to_thread(again, detail["messages"][-1]["id"])
                           for _ in range(3)))
    await service.wait_detail(contact["id"], token,
                              lambda d: d["messages"][-1]["delivery"]["state"] == "sent")
    assert len(service.relay.messages) == 1
