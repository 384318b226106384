"""PostgreSQL restarted under a running serve (issue 10): while it is down, the API answers
503 with a problem body and Retry-After, /healthz names the database, and mail gets a
451 "try again later" (nothing is accepted that is not stored); once it is back, the same
serve answers again without a restart of its own, and the mail sent again is routed."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from config.serve import start
from config.settings import Settings
from inbox.db import PING_AFTER_IDLE_S, make_engine
from tests.conftest import Service
from tests.integration.pg_cluster import Cluster
from tests.integration.test_email import mail, send
from tests.integration.test_health import health

pytestmark = pytest.mark.shared  # a fault test: once, on the PostgreSQL run


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    own = Cluster()
    own.start()
    yield own
    own.remove()


async def test_a_database_restart_is_a_503_then_recovers_by_itself(
        service: Service, cluster: Cluster) -> None:
    env = {**service.env, "YHTEYS_DATABASE_URL": cluster.url, "YHTEYS_HTTP_PORT": "0",
           "YHTEYS_SMTP_PORT": "0"}
    env.pop("YHTEYS_REDIS_URL")  # jobs in this process: the suite's worker knows not this db
    settings = Settings.from_env(env)
    own = Service(await start(settings), settings, service.relay, service.http, env)
    try:
        lead = own.add_staff("lead@hel.fi", [], role="lead")
        assert (await own.get_json("/api/v1/contacts?folder=all", lead))["items"] == []
        cluster.stop()
        async with own.http.get(own.url + "/api/v1/contacts?folder=all",
                                headers=own.auth(lead)) as r:
            assert r.status == 503 and r.content_type == "application/problem+json"
            assert r.headers["Retry-After"] == "5"
            problem = await r.json()
        assert problem["code"] == "unavailable" and "Traceback" not in str(problem)
        # A counsellor's browser gets a page in their language, not the JSON.
        async with own.http.get(own.url + "/inbox?lang=sv", headers={
                **own.auth(lead), "Accept": "text/html"}) as r:
            assert r.status == 503 and r.content_type == "text/html"
            assert r.headers["Retry-After"] == "5"
            assert "Yhteys kan inte nås just nu" in await r.text()
        status, body = await health(own)
        assert status == 503 and body["checks"]["database"]["ok"] is False
        message = mail("Vuokravelka, 00320 Helsinki", message_id="<restart@example.com>")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await send(own, message)
        assert refused.value.smtp_code == 451  # the sending MTA keeps it and tries again
        cluster.start()
        assert (await own.get_json("/api/v1/contacts?folder=all", lead))["items"] == []
        assert await send(own, message) == {}
        [contact] = await own.wait_contacts(lead, 1)
        assert contact["area"] == "lantinen"
        assert (await health(own))[0] == 200
    finally:
        await own.running.stop()



def test_a_connection_idle_through_a_restart_is_replaced_before_use(cluster: Cluster) -> None:
    """Pooled connections are dead after a restart. One idle for a second is pinged before
    use and replaced, so the first unit of work afterwards succeeds (without the ping it
    fails with AdminShutdown); one back within the second is used without a round trip."""
    engine = make_engine(cluster.url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        given_back = time.monotonic()
        cluster.stop()
        cluster.start()
        time.sleep(max(0.0, PING_AFTER_IDLE_S + 0.1 - (time.monotonic() - given_back)))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
