"""The SMTP listener's edges over real sockets: connection limits, idle timeout, bounded
logging under a flood, SMTPUTF8, postmaster, an enhanced status code on every refusal, and
group commit (mail that arrives during a commit is stored in the next, and answered after)."""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import re
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from email.policy import SMTPUTF8
from pathlib import Path

import aiosmtpd.smtp
import pytest
import trustme
from sqlalchemy import func, select

from channels.email.listener import (
    IDLE,
    TOO_MANY,
    EmailHandler,
    SmtpListener,
    YhteysSMTP,
    enhanced,
)
from inbox.models import RawInbound
from tests.conftest import Service
from tests.integration.test_email import SERVICE, mail, send

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]
ENHANCED_CODE = re.compile(rb"^[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3} ")


async def connect(port: int, source: str = "127.0.0.1") -> tuple[Stream, bytes]:
    """A raw connection from `source` (any 127.x address is this machine) and its first line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    return (reader, writer), await asyncio.wait_for(reader.readline(), 5)


async def close(*streams: Stream) -> None:
    for _, writer in streams:
        writer.close()
    for _, writer in streams:
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


async def refused(port: int, source: str = "127.0.0.1") -> bool:
    """True if a connection from `source` gets the 421 and is then closed by the server."""
    stream, first = await connect(port, source)
    try:
        if first != TOO_MANY.encode() + b"\r\n":
            assert first.startswith(b"220 "), first
            return False
        assert await asyncio.wait_for(stream[0].read(), 5) == b""  # closed after the 421
        return True
    finally:
        await close(stream)


async def admitted_soon(port: int, source: str = "127.0.0.1", timeout: float = 5) -> Stream:
    """A connection that got the greeting, once the server has noticed closed ones."""
    deadline = time.monotonic() + timeout
    while True:
        stream, first = await connect(port, source)
        if first.startswith(b"220 "):
            return stream
        await close(stream)
        assert time.monotonic() < deadline, f"still refused: {first!r}"
        await asyncio.sleep(0.05)


async def healthz(service: Service) -> int:
    async with service.http.get(service.url + "/healthz") as r:
        return r.status


def send_from(service: Service, source: str, message: EmailMessage) -> dict:
    with smtplib.SMTP("127.0.0.1", service.smtp_port, timeout=10,
                      source_address=(source, 0)) as client:
        return client.send_message(message, to_addrs=[SERVICE])


async def test_idle_connections_over_the_per_client_limit_get_421_and_service_still_works(
        service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    port = service.smtp_port
    opened = [await connect(port) for _ in range(20)]  # YHTEYS_SMTP_MAX_PER_CLIENT default
    try:
        assert all(first.startswith(b"220 ") for _, first in opened)
        extra = await asyncio.gather(*(refused(port) for _ in range(30)))
        assert all(extra), "every connection over the limit gets 421 and is closed"
        assert await healthz(service) == 200
        # Another client is not starved by this one.
        m = mail("Vuokravelka, 00320 Helsinki", message_id="<limit@example.com>")
        assert await asyncio.to_thread(send_from, service, "127.0.0.2", m) == {}
        assert len(await service.wait_contacts(lead, 1)) == 1
        assert await refused(port)  # still at the limit for 127.0.0.1
    finally:
        await close(*(stream for stream, _ in opened))
    # Closed connections no longer count.
    await close(await admitted_soon(port))


async def test_a_client_that_hangs_up_at_once_frees_its_place_at_once(service: Service):
    """A port check (connect, close, never a word) must not keep a session's place until
    the garbage collector finds it: ten such, then the limit of three still admits."""
    await service.restart(YHTEYS_SMTP_MAX_PER_CLIENT="3")
    port = service.smtp_port
    gc.disable()  # only the server's own closing may free the places
    try:
        for _ in range(10):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
        streams = [await admitted_soon(port) for _ in range(3)]
        await close(*streams)
    finally:
        gc.enable()


async def test_total_connection_limit_counts_every_client(service: Service):
    await service.restart(YHTEYS_SMTP_MAX_CONNECTIONS="5", YHTEYS_SMTP_MAX_PER_CLIENT="3")
    port = service.smtp_port
    first = [await connect(port, "127.0.0.1") for _ in range(3)]
    second = [await connect(port, "127.0.0.2") for _ in range(2)]
    try:
        assert all(line.startswith(b"220 ") for _, line in first + second)
        assert await refused(port, "127.0.0.3")  # a new client, but 5 are open in total
        assert await refused(port, "127.0.0.2")
        await close(first[0][0])
        third = await admitted_soon(port, "127.0.0.3")
        await close(third)
    finally:
        await close(*(stream for stream, _ in first[1:] + second))


async def test_log_stays_bounded_under_a_flood_of_refused_connections(
        service: Service, caplog: pytest.LogCaptureFixture):
    port = service.smtp_port
    opened = [await connect(port) for _ in range(20)]
    caplog.set_level(logging.INFO)
    caplog.clear()
    try:
        for _ in range(10):
            assert all(await asyncio.gather(*(refused(port) for _ in range(50))))
        # 500 refusals, each cheap: one warning now, the rest summarised later. (Only the
        # listener's lines count: asyncio's debug mode, on in scripts/test.sh, may add
        # "slow callback" lines, and the service's minute timer may log its round.)
        lines = [r.getMessage() for r in caplog.records if r.name == "channels.email.listener"]
        assert len(lines) <= 2, lines
        assert "refusing connections from 127.0.0.1" in lines[0]
        assert await healthz(service) == 200
    finally:
        await close(*(stream for stream, _ in opened))


async def test_aiosmtpd_warnings_are_throttled_under_a_flood_of_garbage(
        service: Service, caplog: pytest.LogCaptureFixture):
    """aiosmtpd warns once per unrecognised command; its log passes 20 lines a minute."""
    caplog.set_level(logging.WARNING, logger="mail.log")  # as `yhteys serve` sets it
    caplog.clear()
    for _ in range(5):
        sessions = [dialogue(service.smtp_port, [b"FOO", b"BAR", b"BAZ", b"QUIT"])
                    for _ in range(10)]
        for replies in await asyncio.gather(*sessions):
            assert [r[:10] for r in replies[:3]] == [b"500 5.5.1 "] * 3
    from_aiosmtpd = [r for r in caplog.records if r.name == "mail.log"
                     and r.levelno >= logging.WARNING]
    assert len(from_aiosmtpd) <= 20, len(from_aiosmtpd)  # of 150 it would have logged


async def test_refusals_are_summarised_once_per_interval(caplog: pytest.LogCaptureFixture):
    """The summary itself, with a short interval, on a bare listener."""
    handler = EmailHandler(None, None, lambda a: True, SERVICE)  # type: ignore[arg-type]
    listener = SmtpListener(lambda: YhteysSMTP(handler, hostname="yhteys.test"),
                            max_connections=1, max_per_client=1, log_every=0.3)
    server = await asyncio.get_running_loop().create_server(listener, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    caplog.set_level(logging.WARNING, logger="channels.email.listener")
    held, greeting = await connect(port)
    try:
        assert greeting.startswith(b"220 yhteys.test")
        started = time.monotonic()
        assert all([await refused(port) for _ in range(40)])
        elapsed = time.monotonic() - started

        def summarised() -> list[str]:
            return [r.getMessage() for r in caplog.records
                    if r.name == "channels.email.listener"]

        def counted(messages: list[str]) -> int:
            return sum(int(m.group(1)) for line in messages
                       if (m := re.search(r"refused (\d+) more connections", line)))
        for _ in range(100):  # the last summary comes at the next interval's end
            if counted(summarised()) == 39:
                break
            await asyncio.sleep(0.05)
        messages = summarised()
        assert messages[0].startswith("SMTP: refusing connections from 127.0.0.1")
        assert counted(messages) == 39, messages  # every refusal counted, none logged alone
        # One line per interval at most, however many refusals (on a busy machine the 40
        # refusals may span more than one 0.3 s interval).
        assert len(messages) <= 2 + int(elapsed / 0.3), messages
    finally:
        await close(held)
        listener.close()
        server.close()
        await server.wait_closed()


async def test_an_idle_connection_is_closed_after_the_idle_timeout(service: Service):
    await service.restart(YHTEYS_SMTP_IDLE_S="1")
    port = service.smtp_port
    (reader, writer), greeting = await connect(port)
    try:
        assert greeting.startswith(b"220 ")
        started = time.monotonic()
        assert await asyncio.wait_for(reader.readline(), 5) == IDLE.encode() + b"\r\n"
        assert await asyncio.wait_for(reader.read(), 5) == b""
        assert 0.8 < time.monotonic() - started < 3
    finally:
        await close((reader, writer))
    # Idle also after a command, and a closed idle session frees its place.
    (reader, writer), _ = await connect(port)
    try:
        writer.write(b"EHLO client.example\r\n")
        while not (await reader.readline()).startswith(b"250 "):
            pass
        assert await asyncio.wait_for(reader.readline(), 5) == IDLE.encode() + b"\r\n"
    finally:
        await close((reader, writer))


async def test_limits_and_idle_timeout_hold_over_starttls(service: Service, tmp_path: Path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    await service.restart(YHTEYS_SMTP_TLS_CERT=str(cert_file), YHTEYS_SMTP_TLS_KEY=str(key_file),
                          YHTEYS_SMTP_IDLE_S="1", YHTEYS_SMTP_MAX_PER_CLIENT="1")
    context = ssl.create_default_context()
    ca.configure_trust(context)

    def _idle_over_tls() -> bytes:
        with smtplib.SMTP("127.0.0.1", service.smtp_port, timeout=10) as client:
            client.starttls(context=context)
            client.ehlo()
            time.sleep(1.8)  # silent for longer than the idle timeout
            assert client.sock is not None
            return client.sock.recv(200)
    reply = await asyncio.to_thread(_idle_over_tls)
    assert reply == IDLE.encode() + b"\r\n"
    # The TLS session's place is free again (the per-client limit here is 1).
    await close(await admitted_soon(service.smtp_port))


async def test_a_slow_but_steady_data_transfer_is_not_idle(service: Service):
    """aiosmtpd's own timer restarts only on a command: a DATA longer than the timeout was
    cut off. Here any bytes received count as activity."""
    await service.restart(YHTEYS_SMTP_IDLE_S="1")
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    (reader, writer), _ = await connect(service.smtp_port)
    try:
        for command in (b"EHLO client.example", b"MAIL FROM:<matti@example.com>",
                        f"RCPT TO:<{SERVICE}>".encode(), b"DATA"):
            writer.write(command + b"\r\n")
            line = await reader.readline()
            while line[3:4] == b"-":
                line = await reader.readline()
            assert line[:1] in b"23", line
        writer.write(b"From: matti@example.com\r\nSubject: Hidas\r\nMessage-ID: <slow@ex.com>"
                     b"\r\n\r\n")
        for n in range(8):  # 2.4 s in all, never 1 s quiet
            writer.write(f"Rivi {n}, 00320 Helsinki\r\n".encode())
            await asyncio.sleep(0.3)
        writer.write(b".\r\n")
        assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"250 2.0.0 OK")
    finally:
        await close((reader, writer))
    assert len(await service.wait_contacts(lead, 1)) == 1


async def test_postmaster_is_accepted(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await send(service, mail("Postia postmasterille", message_id="<pm1@example.com>"),
               rcpt="postmaster@yhteys.test")
    await send(service, mail("Ja ilman domainia", message_id="<pm2@example.com>"),
               rcpt="Postmaster")  # RFC 5321 4.5.1: RCPT TO:<Postmaster>
    assert len(await service.wait_contacts(lead, 2)) == 2


async def test_smtputf8_is_offered_and_a_utf8_mail_is_stored_and_routed(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    service.add_staff("ville@hel.fi", ["lantinen"])
    m = EmailMessage(policy=SMTPUTF8)
    m["From"] = "Jörö Häkkinen <jörö@esimerkki.fi>"
    m["To"], m["Subject"], m["Message-ID"] = SERVICE, "Häätöuhka", "<utf8@esimerkki.fi>"
    m.set_content("Vuokranantaja uhkaa häädöllä. Kivihaantie 5, 00320 Helsinki.")

    def _send() -> tuple[bool, dict]:
        with smtplib.SMTP("127.0.0.1", service.smtp_port, timeout=10) as client:
            client.ehlo()
            offered = client.has_extn("smtputf8")
            # smtplib sees the non-ASCII addresses and sends MAIL FROM … SMTPUTF8.
            return offered, client.send_message(m)
    offered, refused_rcpts = await asyncio.to_thread(_send)
    assert offered and refused_rcpts == {}
    [contact] = await service.wait_contacts(lead, 1)
    assert contact["resident"]["email"] == "jörö@esimerkki.fi"
    assert contact["area"] == "lantinen"
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    assert "häädöllä" in detail["messages"][0]["text"]
    assert contact["summary"] == "Häätöuhka"


async def dialogue(port: int, lines: list[bytes]) -> list[bytes]:
    """Each line sent in turn; the last line of each reply."""
    (reader, writer), greeting = await connect(port)
    assert greeting.startswith(b"220 ")
    replies = []
    try:
        for line in lines:
            writer.write(line + b"\r\n")
            reply = await asyncio.wait_for(reader.readline(), 5)
            while reply[3:4] == b"-":
                reply = await asyncio.wait_for(reader.readline(), 5)
            replies.append(reply.rstrip(b"\r\n"))
    finally:
        await close((reader, writer))
    return replies


async def test_every_refusal_over_the_wire_carries_an_enhanced_status_code(service: Service):
    script = [
        (b"MAIL FROM:<matti@example.com>", b"503 5.5.1 "),  # before EHLO
        (b"EHLO", b"501 5.5.4 "),
        (b"EHLO client.example", b"250 HELP"),
        (b"FOO", b"500 5.5.1 "),
        (b"", b"500 5.5.2 "),
        (b"NOOP " + b"x" * 600, b"500 5.5.2 Line too long"),  # over the 512 of a command
        (b"X" * 3000, b"500 5.5.2 Line too long"),  # over the stream's line limit
        (b"DATA", b"503 5.5.1 Error: need RCPT command"),
        (b"RCPT TO:<" + SERVICE.encode() + b">", b"503 5.5.1 Error: need MAIL command"),
        (b"MAIL FROM:<\xff@example.com>", b"553 5.1.7 "),  # not UTF-8
        (b"MAIL FROM:<.@\t[>", b"553 5.1.3 "),  # email's parser crashed: was a 451
        (b"MAIL FROM:<matti@example.com> BODY=FOO", b"501 5.5.4 "),
        (b"MAIL FROM:<matti@example.com> XFOO=1", b"555 5.5.4 "),
        (b"MAIL FROM:<matti@example.com> SIZE=999999999", b"552 5.3.4 "),
        (b"MAIL FROM:<matti@example.com>", b"250 2.1.0 "),
        (b"MAIL FROM:<liisa@example.com>", b"503 5.5.1 Error: nested MAIL command"),
        (b"RCPT TO:", b"501 5.5.4 "),
        (b"RCPT TO:<someone@elsewhere.fi>", b"550 5.1.1 "),
        (b"VRFY", b"501 5.5.4 "),
        (b"EXPN list", b"502 5.5.1 "),
        (b"STARTTLS", b"454 4.7.0 "),  # no certificate configured
        (b"HELP", b"250 2.0.0 "),
        (b"NOOP", b"250 2.0.0 OK"),
        (b"RSET", b"250 2.0.0 OK"),
        (b"QUIT", b"221 2.0.0 Bye"),
    ]
    replies = await dialogue(service.smtp_port, [command for command, _ in script])
    for (command, expected), reply in zip(script, replies, strict=True):
        assert reply.startswith(expected), (command[:40], reply)
        assert reply.startswith(b"250 HELP") or ENHANCED_CODE.match(reply), reply


async def test_a_too_long_line_in_data_gets_an_enhanced_code(service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    replies = await dialogue(service.smtp_port, [
        b"EHLO client.example", b"MAIL FROM:<matti@example.com>",
        b"RCPT TO:<" + SERVICE.encode() + b">", b"DATA",
        b"Subject: pitka\r\n\r\n" + b"a" * 2000 + b"\r\n.",
    ])
    assert replies[-1].startswith(b"500 5.5.2 Line too long"), replies
    await asyncio.sleep(0.3)
    assert (await service.get_json("/api/v1/contacts?folder=all", lead))["items"] == []


def aiosmtpd_replies() -> list[str]:
    """Every literal reply aiosmtpd's server can push, from its own source."""
    source = inspect.getsource(aiosmtpd.smtp)
    source = re.sub(r"""(['"])\s*\n\s*f?\1""", "", source)  # 'implicitly ' 'joined' literals
    found = re.findall(r"""push\(\s*f?(['"])(\d{3}[ -].*?)\1""", source, re.DOTALL)
    found += re.findall(r"""(?:status|syntaxerr) = f?(['"])(\d{3} .*?)\1""", source)
    replies = {text.replace("{command}", "FOO").replace("{helo}", "HELO")
               .replace("{}", "x") for _, text in found}
    return sorted(replies)


def test_every_reply_aiosmtpd_can_send_gets_an_enhanced_code_when_it_refuses():
    replies = aiosmtpd_replies()
    assert len(replies) > 30 and "503 Error: need RCPT command" in replies
    unlabelled = []
    for text in replies:
        out = enhanced(text, 1000)
        if text[0] in "45" or text.startswith(("250 OK", "221 ", "252 ")):
            if not ENHANCED_CODE.match(out.encode()):
                unlabelled.append(out)
    assert unlabelled == []
    assert enhanced("503 Error: need RCPT command") == "503 5.5.1 Error: need RCPT command"
    assert enhanced('500 Error: command "FOO" not recognized') == \
        "500 5.5.1 Command not recognized"
    assert enhanced("552 Error: Too much mail data", 10) == \
        "552 5.3.4 Message exceeds the size limit of 10 bytes"
    assert enhanced("250 yhteys.test") == "250 yhteys.test"  # HELO's answer: no code
    assert enhanced("550 5.1.1 No such mailbox") == "550 5.1.1 No such mailbox"


async def _held_batch(service: Service, monkeypatch: pytest.MonkeyPatch,
                      first: EmailMessage, then: list[EmailMessage]
                      ) -> tuple[list[int], list[float], float]:
    """Send `first`, hold its commit (as a busy database would), send `then` meanwhile and
    release once they all wait: (each commit's size, when each sender heard 250, when the
    commit was released)."""
    from channels.email import intake

    commits: list[int] = []
    first_started, release = threading.Event(), threading.Event()
    writer: list[intake.MailIntake] = []
    real = intake.MailIntake.commit

    def held_commit(self: intake.MailIntake, mails: list[intake.Mail]):
        writer.append(self)
        if not commits:
            first_started.set()
            release.wait(10)
        result = real(self, mails)
        commits.append(len(mails))
        return result

    monkeypatch.setattr(intake.MailIntake, "commit", held_commit)
    answered: list[float] = []

    async def one(message: EmailMessage) -> None:
        await send(service, message)
        answered.append(time.monotonic())

    sends = [asyncio.create_task(one(first))]
    assert await asyncio.to_thread(first_started.wait, 10)
    sends += [asyncio.create_task(one(m)) for m in then]
    for _ in range(500):
        if writer and len(writer[0].waiting) == len(then):
            break
        await asyncio.sleep(0.01)
    assert len(writer[0].waiting) == len(then) and answered == []
    released_at = time.monotonic()
    release.set()
    await asyncio.gather(*sends)
    return commits, answered, released_at


async def test_mail_arriving_during_a_commit_shares_the_next_and_waits_for_it(
        service: Service, monkeypatch: pytest.MonkeyPatch):
    """Group commit: while one mail's commit is under way, four more arrive; they are
    stored together in one transaction, and none of their senders hears 250 before that
    transaction has committed."""
    mails = [mail(f"Vuokrarästi {n}, 00320 Helsinki", message_id=f"<group-{n}@example.com>")
             for n in range(5)]
    commits, answered, released_at = await _held_batch(service, monkeypatch, mails[0],
                                                       mails[1:])  # (the threads: 6 in all)
    assert commits == [1, 4]
    assert len(answered) == 5 and min(answered) >= released_at
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    assert len(await service.wait_contacts(lead, 5)) == 5  # each stored, each routed


async def test_a_batch_with_redeliveries_stores_each_mail_once(
        service: Service, monkeypatch: pytest.MonkeyPatch):
    """One batch (one INSERT) holding a redelivery of a mail stored before and two copies
    of one new mail: every sender hears 250, and each mail is stored and routed once."""
    first, other = (mail(f"Vuokrarästi {n}, 00320 Helsinki",
                         message_id=f"<again-{n}@example.com>") for n in range(2))
    commits, answered, _ = await _held_batch(service, monkeypatch, first,
                                             [first, other, other])
    assert commits == [1, 3] and len(answered) == 4
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    assert len(await service.wait_contacts(lead, 2)) == 2
    stored = service.running.system.store.run(
        lambda s: s.scalar(select(func.count()).select_from(RawInbound)))
    assert stored == 2
