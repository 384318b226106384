"""kill -9 of a worker in the middle of sending a reply (issue 10): the relay has had the
mail's DATA but not yet said 250, so the reply is still unsent. The next worker to start
finds the send's lease free (it died with the killed worker) and sends the reply again; the
relay sees one Message-ID, and the counsellor sees the reply sent, not stuck pending.
(The relay drops a DATA whose client is gone before its 250; a relay that kept it would
hold two copies of one mail, with one Message-ID, which is what SMTP allows.)"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Service, free_port, until_healthy
from tests.integration.test_deployment import ThroughProxy, _command, operator, yhteys_env
from tests.integration.test_email import mail, send

pytestmark = pytest.mark.shared


@pytest.fixture
def procs() -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    running: dict[str, subprocess.Popen[bytes]] = {}
    yield running
    for proc in running.values():
        if proc.poll() is None:
            proc.terminate()
    for proc in running.values():
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


async def test_a_reply_whose_worker_was_killed_mid_send_leaves_once(
        service: Service, tmp_path: Path, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    http_port, smtp_port = free_port(), free_port()
    url = f"http://127.0.0.1:{http_port}"
    env = {**yhteys_env(service, url, tmp_path), "YHTEYS_HTTP_PORT": str(http_port),
           "YHTEYS_SMTP_PORT": str(smtp_port)}

    def start(name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        procs[name] = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
        return procs[name]

    start("serve", _command("serve-a"))
    first = start("worker-1", _command("worker"))
    await until_healthy(url, procs["serve"], timeout=60)
    operator(env, "staff", "add", "lead@hel.fi", "--name", "Liisa Lead", "--role", "lead")
    lead = operator(env, "token", "create", "lead@hel.fi").split()[-1]
    serve = ThroughProxy(service.running, service.settings, service.relay, service.http, env,
                         proxy_url=url, smtp=smtp_port)
    await send(serve, mail("Vuokravelka, 00320 Helsinki", message_id="<kill@example.com>"))
    [contact] = await serve.wait_contacts(lead, 1, timeout=30)
    relay = service.relay
    relay.delay = 3.0  # the relay takes the mail, then is slow to say 250
    _, reply = await serve.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                                     {"text": "Soitan huomenna", "secure": False}, lead,
                                     status=201)
    assert reply is not None
    for _ in range(500):
        if relay.receiving:
            break
        await asyncio.sleep(0.02)
    assert relay.receiving == 1, "the worker never began sending"
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    unsent = await serve.wait_detail(contact["id"], lead, lambda d: False, timeout=0)
    assert unsent["messages"][-1]["delivery"]["state"] == "pending"  # never heard its 250
    relay.delay = 0.0
    start("worker-2", _command("worker"))  # as an orchestrator restarts a dead worker
    sent = await serve.wait_detail(
        contact["id"], lead, lambda d: d["messages"][-1]["delivery"]["state"] == "sent",
        timeout=30)
    assert sent["messages"][-1]["delivery"]["state"] == "sent"
    copies = [m for m in relay.messages if "Soitan huomenna" in m.get_body().get_content()]
    assert len(copies) == 1 and copies[0]["Message-ID"]  # one mail, as the relay sees it
    assert "handed again 1 replies" in (tmp_path / "worker-2.log").read_text()
