"""IMAP polling against a real Dovecot (started by scripts/test.sh), in clear and over TLS.

What is new is decided by the UIDVALIDITY + UID checkpoint, not by `\\Seen`; the poller
IDLEs when the server offers it (Dovecot does), else polls every YHTEYS_IMAP_INTERVAL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme
from imapclient import IMAPClient
from sqlalchemy import func, select

from config.serve import imap_poller
from inbox.imap_state import checkpoint, mailbox_key
from inbox.models import RawInbound
from tests.conftest import BACKEND, Service
from tests.integration.test_email import PARTNER_PASS, mail

FOLDER = "Kela-turvaposti"  # a folder of our own: INBOX cannot be deleted and recreated
LOGGER = "channels.email.imap"


@pytest.fixture
def imap_env(caplog: pytest.LogCaptureFixture) -> Iterator[dict[str, str]]:
    """The test Dovecot's mailbox (in clear), emptied before and after the test."""
    names = ("HOST", "PORT", "USER", "PASSWORD")
    missing = [n for n in names if f"YHTEYS_TEST_IMAP_{n}" not in os.environ]
    assert not missing, "run through scripts/test.sh, which starts Dovecot for this test"
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    env = {f"YHTEYS_IMAP_{n}": os.environ[f"YHTEYS_TEST_IMAP_{n}"] for n in names}
    env |= {"YHTEYS_IMAP_SSL": "0", "YHTEYS_IMAP_INTERVAL": "0.2", "YHTEYS_IMAP_IDLE": "0"}
    _empty(env)
    yield env
    _empty(env)


@pytest.fixture
def imaps_env(imap_env: dict[str, str]) -> dict[str, str]:
    """The same mailbox over implicit TLS, trusting the test CA (YHTEYS_TEST_IMAP_CA)."""
    return {**imap_env, "YHTEYS_IMAP_PORT": os.environ["YHTEYS_TEST_IMAPS_PORT"],
            "YHTEYS_IMAP_SSL": "1", "YHTEYS_IMAP_CA": os.environ["YHTEYS_TEST_IMAP_CA"]}


def _client(env: dict[str, str], folder: str = "INBOX") -> IMAPClient:
    client = IMAPClient(env["YHTEYS_IMAP_HOST"], port=int(os.environ["YHTEYS_TEST_IMAP_PORT"]),
                        ssl=False)
    client.login(env["YHTEYS_IMAP_USER"], env["YHTEYS_IMAP_PASSWORD"])
    client.select_folder(folder)
    return client


def _empty(env: dict[str, str]) -> None:
    with _client(env) as client:
        uids = client.search(["ALL"])
        if uids:
            client.delete_messages(uids)
            client.expunge()
        if client.folder_exists(FOLDER):
            client.delete_folder(FOLDER)


def _append(env: dict[str, str], subject: str, message_id: str, folder: str = "INBOX",
            seen: bool = False) -> None:
    message = mail(subject, sender="etuudet@kela.fi", message_id=message_id,
                   Authentication_Results=PARTNER_PASS)
    with _client(env) as client:
        client.append(folder, message.as_bytes(), flags=[b"\\Seen"] if seen else [])


def _uids(env: dict[str, str], folder: str = "INBOX") -> list[int]:
    """The folder's UIDs (they keep growing across tests: emptying does not reset them)."""
    with _client(env, folder) as client:
        return sorted(client.search(["ALL"]))


def _raw_count(service: Service) -> int:
    return service.running.system.store.run(
        lambda s: s.scalar(select(func.count()).select_from(RawInbound)))


def _checkpoint(service: Service, env: dict[str, str], folder: str = "INBOX"
                ) -> tuple[int, int] | None:
    key = mailbox_key(env["YHTEYS_IMAP_HOST"], env["YHTEYS_IMAP_USER"], folder)
    return service.running.system.store.run(checkpoint, key)


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and text in r.getMessage()]


async def _until(what: str, check: Callable[[], object], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        await asyncio.sleep(0.05)


async def _rounds(caplog: pytest.LogCaptureFixture, more: int) -> None:
    """Wait until the poller has finished `more` further rounds."""
    done = len(_logged(caplog, "done, "))
    await _until(f"{more} rounds", lambda: len(_logged(caplog, "done, ")) >= done + more)


async def _contacts(service: Service, token: str) -> list[dict]:
    return (await service.get_json("/api/v1/contacts?folder=all", token))["items"]


async def test_mail_already_read_in_another_client_is_imported(service: Service,
                                                              imap_env: dict[str, str]):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    _append(imap_env, "Asiakkaan vuokrat maksamatta, 00940 Helsinki", "<imap-seen@kela.fi>",
            seen=True)  # someone opened it in their mail client before we looked
    _append(imap_env, "Toinen asiakas, 00320 Helsinki", "<imap-unseen@kela.fi>")
    await service.restart(**imap_env)
    contacts = await service.wait_contacts(lead, 2)
    assert {c["partner"] for c in contacts} == {"Kela"}
    assert {c["area"] for c in contacts} == {"itainen", "lantinen"}
    assert _checkpoint(service, imap_env) is not None
    assert _checkpoint(service, imap_env)[1] == _uids(imap_env)[-1]  # type: ignore[index]
    with _client(imap_env) as client:
        assert client.search(["UNSEEN"]) == []  # flagged seen after the durable store


async def test_each_message_is_imported_once_across_rounds_and_restarts(
        service: Service, imap_env: dict[str, str], caplog: pytest.LogCaptureFixture):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    _append(imap_env, "Asiakkaan vuokrat maksamatta, 00940 Helsinki", "<imap-1@kela.fi>")
    await service.restart(**imap_env)
    await service.wait_contacts(lead, 1)
    await _rounds(caplog, 2)
    with _client(imap_env) as client:  # someone marks it unread again: decides nothing
        client.remove_flags(client.search(["ALL"]), [b"\\Seen"])
    await _rounds(caplog, 2)
    assert _raw_count(service) == 1 and len(await _contacts(service, lead)) == 1
    with _client(imap_env) as client:
        assert client.search(["UNSEEN"]) != []  # and nobody flagged it again: not re-read

    await service.restart(**imap_env)  # a new poller goes on from the stored checkpoint
    await _rounds(caplog, 2)
    assert _raw_count(service) == 1 and len(await _contacts(service, lead)) == 1

    _append(imap_env, "Uusi asia, 00320 Helsinki", "<imap-2@kela.fi>")
    await service.wait_contacts(lead, 2)
    await _rounds(caplog, 2)
    assert _raw_count(service) == 2 and len(await _contacts(service, lead)) == 2
    assert _checkpoint(service, imap_env)[1] == _uids(imap_env)[-1]  # type: ignore[index]
    assert len(_logged(caplog, "new message")) == 2  # one round with each, none other


# Polling; or idling on the folder while it is deleted. Dovecot tells an IDLE nothing of
# that, so the change is seen at the next re-IDLE: here after 1 s, by default 5 minutes.
@pytest.mark.parametrize("idle", ["0", "1"])
async def test_a_recreated_folder_is_read_again_without_duplicates(
        service: Service, imap_env: dict[str, str], caplog: pytest.LogCaptureFixture,
        idle: str):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    with _client(imap_env) as client:
        client.create_folder(FOLDER)
    _append(imap_env, "Asiakkaan vuokrat maksamatta, 00940 Helsinki", "<imap-a@kela.fi>",
            folder=FOLDER)
    await service.restart(**{**imap_env, "YHTEYS_IMAP_FOLDER": FOLDER, "YHTEYS_IMAP_IDLE": idle,
                             "YHTEYS_IMAP_IDLE_TIMEOUT": "1"})
    await service.wait_contacts(lead, 1)
    first = _checkpoint(service, imap_env, FOLDER)
    assert first is not None and first[1] == 1

    with _client(imap_env) as client:  # deleted and made again: a new UIDVALIDITY
        client.delete_folder(FOLDER)
        client.create_folder(FOLDER)
        new_validity = client.select_folder(FOLDER)[b"UIDVALIDITY"]
    assert new_validity != first[0]
    _append(imap_env, "Asiakkaan vuokrat maksamatta, 00940 Helsinki", "<imap-a@kela.fi>",
            folder=FOLDER)  # the same mail again: UID 1 once more
    _append(imap_env, "Uusi asia, 00320 Helsinki", "<imap-b@kela.fi>", folder=FOLDER)
    await _until("the new UIDVALIDITY checkpoint",
                 lambda: _checkpoint(service, imap_env, FOLDER) == (new_validity, 2))
    await service.wait_contacts(lead, 2)
    await _rounds(caplog, 2)
    assert _raw_count(service) == 2 and len(await _contacts(service, lead)) == 2
    assert _logged(caplog, "UIDVALIDITY changed")


async def test_over_tls_with_the_right_ca_and_never_with_a_wrong_one(
        service: Service, imaps_env: dict[str, str], caplog: pytest.LogCaptureFixture,
        tmp_path: Path):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    _append(imaps_env, "Asiakkaan vuokrat maksamatta, 00940 Helsinki", "<imap-tls@kela.fi>")
    wrong = tmp_path / "wrong-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(wrong))
    for ca in (str(wrong), ""):  # a CA that did not sign it; the system's CAs
        caplog.clear()
        await service.restart(**{**imaps_env, "YHTEYS_IMAP_CA": ca})
        await _until("the TLS refusal", lambda: _logged(caplog, "TLS certificate not trusted"))
        [record] = _logged(caplog, "TLS certificate not trusted")[:1]
        assert record.levelno == logging.ERROR and "never falling back" in record.getMessage()
        assert service.running.imap is not None and not service.running.imap.done()
        assert _raw_count(service) == 0 and _checkpoint(service, imaps_env) is None

    await service.restart(**imaps_env)
    [contact] = await service.wait_contacts(lead, 1)
    assert contact["partner"] == "Kela"
    assert _logged(caplog, "connected (TLS")


async def test_mail_arriving_while_idling_is_imported_at_once(
        service: Service, imap_env: dict[str, str], caplog: pytest.LogCaptureFixture):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    # An hour between polls: only IDLE can bring the mail in within the test's deadline.
    await service.restart(**{**imap_env, "YHTEYS_IMAP_IDLE": "1",
                             "YHTEYS_IMAP_INTERVAL": "3600"})
    await _until("IDLE", lambda: _logged(caplog, "idling"))
    assert _logged(caplog, "connected (clear, IDLE)")
    began = time.monotonic()
    _append(imap_env, "Asiakkaan vuokrat maksamatta, 00940 Helsinki", "<imap-idle@kela.fi>")
    [contact] = await service.wait_contacts(lead, 1, timeout=10)
    assert contact["partner"] == "Kela" and time.monotonic() - began < 10
    await _until("IDLE again", lambda: len(_logged(caplog, "idling")) >= 2)

    await service.running.stop()  # serve stop: the poller's thread logs out and ends
    await _until("the IMAP thread to end", lambda: not any(
        t.name.startswith("yhteys-imap") for t in threading.enumerate()), timeout=3)
    assert not [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING
                and "in clear" not in r.getMessage()]


async def test_one_process_polls_a_mailbox_and_another_takes_over_when_it_stops(
        service: Service, imap_env: dict[str, str], caplog: pytest.LogCaptureFixture):
    """A second serve's poller stands by while the first holds the mailbox's lease; when
    the first stops (on PostgreSQL: its lock goes with its connection, as when killed),
    the second polls, and nothing is imported twice."""
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    _append(imap_env, "Asiakkaan vuokrat maksamatta, 00940 Helsinki", "<lease-1@kela.fi>")
    await service.restart(**imap_env)
    await service.wait_contacts(lead, 1)
    second = imap_poller(service.settings, service.running.system)
    assert second is not None
    standby = asyncio.get_running_loop().create_task(second.run())
    try:
        await _until("the second to stand by",
                     lambda: _logged(caplog, "another process polls it; standing by"))
        await _rounds(caplog, 2)  # the first goes on; the second has done none
        assert second.rounds == 0
        async with service.http.get(service.url + "/healthz") as r:  # who polls, for ops
            holder = (await r.json())["checks"]["leases"]["holders"][second.lease]
        assert holder == ("this process" if BACKEND == "sqlite" else
                          f"yhteys {socket.gethostname()} {os.getpid()}"[:63])
        running = service.running
        assert running.imap is not None
        running.imap.cancel()  # the first poller stops
        await _until("the second to take over", lambda: second.rounds > 0)
        _append(imap_env, "Uusi asia, 00320 Helsinki", "<lease-2@kela.fi>")
        await service.wait_contacts(lead, 2)
        assert _raw_count(service) == 2
    finally:
        second.stop()
        standby.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await standby


async def test_an_unreachable_mailbox_does_not_stop_the_service(service: Service,
                                                               imap_env: dict[str, str],
                                                               caplog: pytest.LogCaptureFixture):
    await service.restart(**{**imap_env, "YHTEYS_IMAP_PASSWORD": "wrong"})
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await _until("two refused logins", lambda: len(_logged(caplog, "login refused")) >= 2)
    async with service.http.get(service.url + "/healthz") as r:
        assert r.status == 200
    assert service.running.imap is not None and not service.running.imap.done()
    assert (await service.get_json("/api/v1/contacts?folder=all", lead))["items"] == []


def test_tls_context_verifies_the_server():
    from channels.email.imap import tls_context

    context = tls_context(None)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
