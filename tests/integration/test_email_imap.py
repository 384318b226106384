"""IMAP polling against a real Dovecot (started by scripts/test.sh)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
from imapclient import IMAPClient

from tests.conftest import Service
from tests.integration.test_email import mail


@pytest.fixture
def imap_env() -> Iterator[dict[str, str]]:
    """The test Dovecot's mailbox, emptied before and after the test."""
    names = ("HOST", "PORT", "USER", "PASSWORD")
    missing = [n for n in names if f"YHTEYS_TEST_IMAP_{n}" not in os.environ]
    assert not missing, "run through scripts/test.sh, which starts Dovecot for this test"
    env = {f"YHTEYS_IMAP_{n}": os.environ[f"YHTEYS_TEST_IMAP_{n}"] for n in names}
    env |= {"YHTEYS_IMAP_SSL": "0", "YHTEYS_IMAP_INTERVAL": "0.2"}
    _empty(env)
    yield env
    _empty(env)


def _client(env: dict[str, str]) -> IMAPClient:
    client = IMAPClient(env["YHTEYS_IMAP_HOST"], port=int(env["YHTEYS_IMAP_PORT"]), ssl=False)
    client.login(env["YHTEYS_IMAP_USER"], env["YHTEYS_IMAP_PASSWORD"])
    client.select_folder("INBOX")
    return client


def _empty(env: dict[str, str]) -> None:
    with _client(env) as client:
        uids = client.search(["ALL"])
        if uids:
            client.delete_messages(uids)
            client.expunge()


async def test_mail_left_in_a_partner_mailbox_is_routed_once(service: Service,
                                                            imap_env: dict[str, str]):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    message = mail("Asiakkaan vuokrat maksamatta, 00940 Helsinki", sender="etuudet@kela.fi",
                   message_id="<imap-1@kela.fi>")
    with _client(imap_env) as client:
        client.append("INBOX", message.as_bytes())
    await service.restart(**imap_env)
    [contact] = await service.wait_contacts(lead, 1)
    assert contact["partner"] == "Kela" and contact["area"] == "itainen"
    with _client(imap_env) as client:
        assert client.search(["UNSEEN"]) == []  # flagged seen after the durable store
        # Someone marks it unread again: seen again, but recognised, not doubled.
        client.remove_flags(client.search(["ALL"]), [b"\\Seen"])
    for _ in range(50):
        with _client(imap_env) as client:
            if not client.search(["UNSEEN"]):
                break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    assert len((await service.get_json("/api/v1/contacts?folder=all", lead))["items"]) == 1


async def test_an_unreachable_mailbox_does_not_stop_the_service(service: Service,
                                                               imap_env: dict[str, str]):
    await service.restart(**{**imap_env, "YHTEYS_IMAP_PASSWORD": "wrong"})
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await asyncio.sleep(0.5)  # a few failed polls
    async with service.http.get(service.url + "/healthz") as r:
        assert r.status == 200
    assert service.running.imap is not None and not service.running.imap.done()
    assert (await service.get_json("/api/v1/contacts?folder=all", lead))["items"] == []
