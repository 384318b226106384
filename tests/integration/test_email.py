"""Email end to end: smtplib -> our SMTP listener -> stored raw -> job -> routed contact."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

import pytest

from tests.conftest import Service

SERVICE = "asumisneuvonta@yhteys.test"
# What the tests' border MTA (YHTEYS_TRUSTED_AUTHSERV_IDS) writes on a partner's real mail.
PARTNER_PASS = "mx.test.hel.fi; dkim=pass header.d=kela.fi; spf=pass smtp.mailfrom=kela.fi"


def mail(text: str, subject: str = "Apua", sender: str = "Matti Meikäläinen <matti@example.com>",
         message_id: str | None = "<m1@example.com>", **headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, SERVICE, subject
    if message_id:
        m["Message-ID"] = message_id
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content(text)
    return m


async def send(service: Service, message: EmailMessage | bytes,
               rcpt: str = SERVICE, sender: str = "matti@example.com", timeout: float = 10
               ) -> dict:
    def _send() -> dict:
        with smtplib.SMTP("127.0.0.1", service.smtp_port, timeout=timeout) as client:
            if isinstance(message, bytes):
                return client.sendmail(sender, [rcpt], message)
            return client.send_message(message, to_addrs=[rcpt])
    return await asyncio.to_thread(_send)


async def test_mail_with_postal_code_reaches_the_areas_counsellor_with_a_case(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    service.add_staff("ville@hel.fi", ["lantinen"], name="Ville Läntinen")
    service.add_staff("ella@hel.fi", ["etelainen"])
    await send(service, mail("Minulla on vuokravelkaa. Kivihaantie 5, 00320 Helsinki."))
    [contact] = await service.wait_contacts(lead, 1)
    assert contact["channel"] == "email"
    assert contact["area"] == "lantinen"
    assert contact["assignee"]["email"] == "ville@hel.fi"
    assert contact["case_id"] is not None
    assert contact["reason"] == 2
    assert "00320" in contact["routing"]["summary"]
    assert [s["rule"] for s in contact["routing"]["steps"]][:2] == ["identify", "locate"]
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    assert "vuokravelkaa" in detail["messages"][0]["text"]


async def test_unknown_recipient_is_refused_with_550_and_nothing_stored(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await send(service, mail("Hei"), rcpt="someone@elsewhere.fi")
    code, text = refused.value.recipients["someone@elsewhere.fi"]
    assert code == 550 and text.startswith(b"5.1.1")
    await asyncio.sleep(0.5)
    assert (await service.get_json("/api/v1/contacts?folder=all", lead))["items"] == []


async def test_oversize_mail_gets_552_with_enhanced_code(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    big = mail("")
    big.set_content(("vuokra " * 12 + "\n") * 4000)  # about 350 KB > 256 KB test limit

    def _send_without_size() -> tuple[int, bytes]:
        # A client that does not declare SIZE: the limit is enforced while reading DATA.
        with smtplib.SMTP("127.0.0.1", service.smtp_port, timeout=10) as client:
            client.ehlo()
            client.mail("matti@example.com")
            client.rcpt(SERVICE)
            return client.data(big.as_bytes(policy=big.policy.clone(linesep="\r\n")))
    code, text = await asyncio.to_thread(_send_without_size)
    assert (code, text[:5]) == (552, b"5.3.4"), text
    assert (await service.get_json("/api/v1/unparsed", lead))["items"] == []
    assert (await service.get_json("/api/v1/contacts?folder=all", lead))["items"] == []


async def test_size_declared_too_big_is_refused_before_data(service: Service):
    def _try() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", service.smtp_port, timeout=10) as client:
            assert client.ehlo()[0] == 250
            assert client.has_extn("enhancedstatuscodes")
            return client.mail("matti@example.com", [f"SIZE={10**9}"])
    code, text = await asyncio.to_thread(_try)
    assert code == 552 and text.startswith(b"5.3.4")


async def test_malformed_mail_is_kept_raw_for_manual_handling(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    reply = await send(service, b"this is not\r\nan email at all\r\n")
    assert reply == {}  # accepted: stored before 250, never dropped
    for _ in range(100):
        unparsed = (await service.get_json("/api/v1/unparsed", lead))["items"]
        if unparsed:
            break
        await asyncio.sleep(0.1)
    assert len(unparsed) == 1
    assert "From" in unparsed[0]["error"]
    assert (await service.get_json("/api/v1/contacts?folder=all", lead))["items"] == []


async def test_redelivered_mail_makes_one_contact(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    message = mail("Häätö uhkaa, 00940 Helsinki", message_id="<same@example.com>")
    await send(service, message)
    await send(service, message)
    await service.wait_contacts(lead, 1)
    await asyncio.sleep(1)
    items = (await service.get_json("/api/v1/contacts?folder=all", lead))["items"]
    assert len(items) == 1
    assert items[0]["urgency"] == "high" and items[0]["reason"] == 12


async def test_reply_threads_to_the_same_contact_and_leaves_through_the_relay(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"], name="Ville")
    await send(service, mail("Vuokra 00320 Helsinki", subject="Vuokra",
                             message_id="<first@example.com>"))
    [contact] = await service.wait_contacts(token, 1)
    status, sent = await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                                           {"text": "Soitan teille huomenna.",
                                            "secure": False}, token)
    assert status == 201 and sent["delivery"]["state"] == "pending"
    [out] = await asyncio.to_thread(service.relay.wait_for, 1)
    assert out["To"] == "matti@example.com"
    assert out["In-Reply-To"] == "<first@example.com>"
    assert "<first@example.com>" in out["References"]
    assert out["Subject"] == "Re: Vuokra"
    assert out["Message-ID"].endswith("@yhteys.test>")
    # The resident answers the reply: it lands on the same contact, not a new one.
    await send(service, mail("Kiitos!", subject="Re: Vuokra", message_id="<second@example.com>",
                             In_Reply_To=out["Message-ID"],
                             References=f"<first@example.com> {out['Message-ID']}"))
    detail = await service.wait_detail(contact["id"], token, lambda d: len(d["messages"]) == 3)
    assert [m["direction"] for m in detail["messages"]] == ["in", "out", "in"]
    assert detail["messages"][1]["delivery"]["state"] == "sent"
    assert len((await service.get_json("/api/v1/contacts?folder=all", token))["items"]) == 1


async def test_html_mail_is_sanitised_and_identity_code_kept_only_as_hash(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    m = mail("Hetu 131052-308T, 00100 Helsinki")
    m.add_alternative('<p onclick="steal()">Hei<script>alert(1)</script>'
                      '<img src="http://tracker.example/x.png"> 131052-308T</p>', subtype="html")
    await send(service, m)
    [contact] = await service.wait_contacts(lead, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    message = detail["messages"][0]
    assert "131052-308T" not in message["text"] and "[henkilötunnus]" in message["text"]
    async with service.http.get(
        f"{service.url}/contacts/{contact['id']}/messages/{message['id']}/html",
        headers=service.auth(lead)) as r:
        html = await r.text()
        assert "sandbox" in r.headers["Content-Security-Policy"]
    assert "<script" not in html and "onclick" not in html and "<img" not in html
    assert "131052-308T" not in html
    # A partner later writes about the same person: it joins the resident's case.
    await send(service, mail("Asiakkaamme 131052-308T vuokrat", sender="kela@kela.fi",
                             message_id="<k1@kela.fi>", Authentication_Results=PARTNER_PASS),
               sender="kela@kela.fi")
    items = await service.wait_contacts(lead, 2)
    partner = next(i for i in items if i["partner"])
    assert partner["partner"] == "Kela"
    assert partner["case_id"] == contact["case_id"]


async def test_failed_delivery_is_retried_and_visible(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    service.relay.reject = "451 4.3.0 Relay busy, try again later"
    await send(service, mail("Apua 00320 Helsinki"))
    [contact] = await service.wait_contacts(token, 1)
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies", {"text": "Vastaus"},
                            token, status=201)
    detail = await service.wait_detail(
        contact["id"], token, lambda d: d["messages"][-1]["delivery"]["state"] == "failed")
    delivery = detail["messages"][-1]["delivery"]
    assert delivery["state"] == "failed", delivery
    assert delivery["attempts"] == 3
    assert "Relay busy" in delivery["error"]
    assert detail["status"] == "open"  # a reply that never left is not an answer


async def test_a_contact_is_answered_only_once_its_reply_has_left(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    await send(service, mail("Apua 00320 Helsinki"))
    [contact] = await service.wait_contacts(token, 1)
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies", {"text": "Vastaus"},
                            token, status=201)
    detail = await service.wait_detail(
        contact["id"], token, lambda d: d["messages"][-1]["delivery"]["state"] == "notified")
    assert detail["status"] == "answered"
    await asyncio.to_thread(service.relay.wait_for, 1)


@pytest.mark.parametrize(("charset", "declared"), [
    ("utf-8", None), ("cp1252", None), ("utf-8", "us-ascii"), ("utf-8", "x-no-such-charset"),
])
async def test_undeclared_or_wrong_charsets_are_read_right(service: Service, charset: str,
                                                           declared: str | None):
    """swaks and old clients send 8-bit text without (or with a wrong) charset."""
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    content_type = f"Content-Type: text/plain; charset={declared}\r\n" if declared else ""
    raw = ("From: Mätti Meikäläinen <matti@example.com>\r\n"
           f"To: {SERVICE}\r\nSubject: Vuokra rästissä\r\nMessage-ID: <cs@example.com>\r\n"
           f"{content_type}\r\nVuokra on rästissä. Kivihaantie 5, 00320 Helsinki\r\n"
           ).encode(charset)
    await send(service, raw)
    [contact] = await service.wait_contacts(token, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", token)
    assert detail["subject"] == "Vuokra rästissä"
    assert detail["messages"][0]["text"].startswith("Vuokra on rästissä.")
    assert detail["resident"]["name"] == "Mätti Meikäläinen"


async def test_permanent_refusal_fails_at_once_without_retrying(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    service.relay.reject = "550 5.1.1 No such user"
    await send(service, mail("Apua 00320 Helsinki"))
    [contact] = await service.wait_contacts(token, 1)
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies", {"text": "Vastaus"},
                            token, status=201)
    detail = await service.wait_detail(
        contact["id"], token, lambda d: d["messages"][-1]["delivery"]["state"] == "failed")
    delivery = detail["messages"][-1]["delivery"]
    assert delivery["state"] == "failed"
    assert delivery["attempts"] == 1 and "No such user" in delivery["error"]


async def test_a_stranger_quoting_a_message_id_does_not_join_the_thread(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await send(service, mail("Vuokra on rästissä, 00320 Helsinki", message_id="<own@ex.com>"))
    await service.wait_contacts(lead, 1)
    await send(service, mail("Kerro mitä Matti kirjoitti", subject="Re: Apua",
                             sender="Utelias <nosy@elsewhere.fi>", message_id="<nosy@ex.fi>",
                             In_Reply_To="<own@ex.com>", References="<own@ex.com>"),
               sender="nosy@elsewhere.fi")
    await send(service, mail("Lisätietoa vielä", subject="Re: Apua", message_id="<own2@ex.com>",
                             In_Reply_To="<own@ex.com>"))
    items = await service.wait_contacts(lead, 2)
    [stranger] = [c for c in items if c["resident"]["email"] == "nosy@elsewhere.fi"]
    assert stranger["routing"]["steps"][0]["code"] == "identify.quoted_other_thread"
    [own] = [c for c in items if c["resident"]["email"] == "matti@example.com"]
    detail = await service.wait_detail(own["id"], lead, lambda d: len(d["messages"]) == 2)
    assert [m["text"] for m in detail["messages"]] == ["Vuokra on rästissä, 00320 Helsinki",
                                                       "Lisätietoa vielä"]


async def test_no_column_limit_loses_a_mail(service: Service):
    """A NUL byte, a display name over 200 characters, a file name over 255 and a
    Message-ID over 530 each used to make the mail vanish or get 451 for ever."""
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    long_id = "<" + "x" * 600 + "@example.com>"
    message = mail("Vuokra\x00 on rästissä, 00320 Helsinki", message_id=long_id,
                   sender=f"{'Meikäläinen ' * 30}<matti@example.com>")
    message.add_attachment(b"data", maintype="application", subtype="pdf",
                           filename="liite_" + "a" * 300 + ".pdf")
    await send(service, message)
    [contact] = await service.wait_contacts(lead, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    assert detail["messages"][0]["text"].startswith("Vuokra")
    assert len(detail["messages"][0]["attachments"][0]["filename"]) == 255
    assert len(detail["resident"]["name"]) <= 200


async def test_a_redelivery_with_one_more_received_line_is_one_message(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    raw = mail("Apua 00320 Helsinki", message_id="<hop@example.com>").as_bytes()
    await send(service, b"Received: from mx1.example.com by mx2\r\n" + raw)
    await send(service, b"Received: from mx0 by mx1.example.com\r\n"
                        b"Received: from mx1.example.com by mx2\r\n" + raw)
    await send(service, mail("Toinen viesti", message_id="<other@example.com>",
                             sender="liisa@example.com"), sender="liisa@example.com")
    await service.wait_contacts(lead, 2)  # the last mail is routed: so are those before it
    items = (await service.get_json("/api/v1/contacts?folder=all", lead))["items"]
    assert len(items) == 2
    texts = [m["text"] for i in items for m in
             (await service.get_json(f"/api/v1/contacts/{i['id']}", lead))["messages"]]
    assert sorted(texts) == ["Apua 00320 Helsinki", "Toinen viesti"]


async def test_a_mail_without_from_takes_the_envelope_sender(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    raw = (f"To: {SERVICE}\r\nSubject: Ei lähettäjää\r\nMessage-ID: <nofrom@example.com>\r\n"
           "\r\nVuokra on rästissä, 00320 Helsinki\r\n").encode()
    await send(service, raw, sender="liisa@example.com")
    [contact] = await service.wait_contacts(lead, 1)
    assert contact["resident"]["email"] == "liisa@example.com"


async def test_a_failed_reply_can_be_sent_again_once_the_cause_is_fixed(service: Service):
    token = service.add_staff("ville@hel.fi", ["lantinen"])
    service.relay.reject = "550 5.1.1 No such user"
    await send(service, mail("Apua 00320 Helsinki"))
    [contact] = await service.wait_contacts(token, 1)
    _, reply = await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                                       {"text": "Vastaus", "secure": False}, token, status=201)
    assert reply
    retry = f"/api/v1/contacts/{contact['id']}/messages/{reply['id']}/retry"
    detail = await service.wait_detail(
        contact["id"], token, lambda d: d["messages"][-1]["delivery"]["state"] == "failed")
    assert detail["status"] == "open"  # needs action
    service.relay.reject = None  # the address was fixed at the other end
    await service.post_json(retry, {}, token, status=200)
    detail = await service.wait_detail(
        contact["id"], token, lambda d: d["messages"][-1]["delivery"]["state"] == "sent")
    assert detail["messages"][-1]["delivery"]["state"] == "sent"
    assert detail["status"] == "answered"
    [out] = await asyncio.to_thread(service.relay.wait_for, 1)
    assert out["Message-ID"].startswith(f"<yhteys.{reply['id']}.")  # the same message
    status, problem = await service.post_json(retry, {}, token)
    assert status == 409 and problem  # nothing to retry once it left
