"""What an operator's tools read: /healthz names each dependency and fails when one is
down; /metrics gives Prometheus counts and latencies that say nothing about anyone."""

from __future__ import annotations

import re

from tests.conftest import BACKEND, Service, free_port
from tests.integration.test_email import mail, send


async def health(service: Service) -> tuple[int, dict]:
    async with service.http.get(service.url + "/healthz") as r:
        return r.status, await r.json()


async def test_healthz_reports_each_dependency(service: Service):
    status, body = await health(service)
    assert status == 200 and body["status"] == "ok"
    expected = {"database", "smtp", "leases"} | ({"redis"} if BACKEND == "postgres" else set())
    assert set(body["checks"]) == expected
    assert all(part["ok"] and part["ms"] >= 0 for part in body["checks"].values())
    assert body["checks"]["smtp"]["sessions"] == 0
    assert set(body["checks"]["leases"]["holders"]) == {"timers"}  # no mailbox configured


async def test_healthz_fails_naming_redis_when_it_is_gone_and_mail_still_lands(
        service: Service):
    """Mail is stored before its 250 whatever Redis does; /healthz says what is wrong."""
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    working = service.env.get("YHTEYS_REDIS_URL", "")
    await service.restart(YHTEYS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    status, body = await health(service)
    assert status == 503 and body["status"] == "failing"
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["ok"] and body["checks"]["smtp"]["ok"]
    refused = await send(service, mail("Vuokravelka, 00320 Helsinki",
                                       message_id="<no-redis@example.com>"))
    assert refused == {}
    # Redis back: the mail that waited in the database is routed, once.
    await service.restart(YHTEYS_REDIS_URL=working)
    [contact] = await service.wait_contacts(lead, 1)
    assert contact["area"] == "lantinen"


async def test_metrics_count_contacts_and_time_requests_without_personal_data(
        service: Service):
    lead = service.add_staff("lead@hel.fi", [], role="lead")
    await send(service, mail("Vuokravelka, Kivihaantie 5, 00320 Helsinki",
                             sender="Liisa Laine <liisa.laine@example.com>",
                             message_id="<metrics@example.com>"))
    [contact] = await service.wait_contacts(lead, 1)
    await service.get_json(f"/api/v1/contacts/{contact['id']}", lead)
    async with service.http.get(service.url + "/metrics") as r:
        assert r.status == 200 and r.content_type == "text/plain"
        text = await r.text()
    assert re.search(r'^yhteys_contacts_by_channel\{channel="email"\} 1\.0$', text, re.M)
    assert re.search(r'^yhteys_contacts_by_status\{status="open"\} 1\.0$', text, re.M)
    assert re.search(r'^yhteys_jobs\{state="failed"\} 0\.0$', text, re.M)
    # Latency by the route's template: the contact's id is not in any label.
    assert re.search(r'^yhteys_http_request_seconds_count\{method="GET",'
                     r'route="/api/v1/contacts/\{id\}",status="2xx"\} 1\.0$', text, re.M)
    assert f"/{contact['id']}" not in text
    assert "liisa" not in text.lower() and "laine" not in text.lower()
