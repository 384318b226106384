"""The authorisation matrix, generated from the app's own route table: every route, as the
unauthenticated, a counsellor of another area, the resident's own counsellor, a lead and an
admin. Nothing personal reaches the unauthenticated, another area's counsellor reads and
changes nothing (and no use-log row says they did), and every allowed read of the resident
writes its use-log row. A route that is added without a place in this table fails the test."""

from __future__ import annotations

import re
from datetime import date, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import AccessLog, CallbackRequest, Case, Contact, Message, Staff
from tests.conftest import Service
from tests.integration.test_email import SERVICE, send

# Resident-facing or machine routes: no staff login (each has its own checks and tests).
PUBLIC = {
    ("GET", "/"),  # a redirect to /inbox
    ("GET", "/healthz"), ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"),
    ("GET", "/login/code"), ("POST", "/login/code"),  # the login's second step: its own
    ("GET", "/login/enrol"), ("POST", "/login/enrol"),  # pending cookie, tests/…/staff_accounts
    ("GET", "/chat"), ("GET", "/widget"), ("GET", "/widget.js"), ("GET", "/callback"),
    ("GET", "/secure/new"), ("POST", "/secure/new"), ("GET", "/s/{token}"),
    ("POST", "/s/{token}/code"), ("POST", "/s/{token}/verify"), ("POST", "/s/{token}/send"),
    ("GET", "/api/v1/openapi.json"), ("POST", "/api/v1/callbacks"),
    ("GET", "/api/v1/callbacks/windows"), ("GET", "/api/v1/chat/availability"),
    ("POST", "/api/v1/telephony/events"),  # signed by the phone system (HMAC)
    ("GET", "/metrics"),  # counts and timings for Prometheus: nothing of anyone (below)
}
PUBLIC_PREFIXES = ("/static", "/vendor/", "/socket.io/")  # files; the chat socket checks its own
# Staff routes that name no record of a resident: any signed-in staff member (leads-only ones
# refuse counsellors with 403, checked below).
LISTS = {
    "/inbox", "/inbox/counts", "/callbacks", "/calls/new", "/api/v1/me", "/api/v1/contacts",
    "/api/v1/callbacks", "/api/v1/calls", "/api/v1/residents", "/api/v1/follow-ups",
    "/api/v1/templates", "/api/v1/unparsed", "/me/availability", "/callbacks/claim",
    "/api/v1/callbacks/claim", "/api/v1/me/availability", "/me/language", "/reports",
    "/api/v1/reports/{name}", "/templates", "/api/v1/audit/use-log",
    "/api/v1/audit/disclosures", "/audit", "/api/v1/retention/runs",
    "/me/tokens",  # one's own API tokens; /me/tokens/{id}/revoke: one's own only, else 404
    "/admin/staff", "/api/v1/staff",  # staff accounts: admins only (ADMIN_ONLY)
}
LEADS_ONLY = {("GET", "/api/v1/unparsed"), ("POST", "/api/v1/templates"),
              ("PUT", "/api/v1/templates/{id}"), ("DELETE", "/api/v1/templates/{id}"),
              ("POST", "/api/v1/unparsed/{id}/retry"), ("POST", "/templates"),
              ("POST", "/templates/{id}"), ("POST", "/templates/{id}/delete")}
AUDITOR_ONLY = {("GET", "/api/v1/audit/use-log"), ("GET", "/api/v1/audit/disclosures"),
                ("GET", "/api/v1/residents/{id}/access-log"), ("GET", "/audit")}
ADMIN_ONLY = {("POST", "/api/v1/residents/{id}/erase"), ("GET", "/api/v1/retention/runs"),
              ("POST", "/api/v1/staff/{id}/second-factor/reset"), ("GET", "/admin/staff"),
              ("POST", "/admin/staff/{id}/disable"), ("POST", "/admin/staff/{id}/enable"),
              ("POST", "/admin/staff/{id}/role"),
              ("POST", "/admin/staff/{id}/second-factor/reset"), ("GET", "/api/v1/staff"),
              ("POST", "/api/v1/staff/{id}/disable"), ("POST", "/api/v1/staff/{id}/enable"),
              ("PUT", "/api/v1/staff/{id}/role")}
NAME, EMAIL, PHONE = "Matti Meikäläinen", "matti.m@example.com", "0509876543"
MARKERS = ("Meikäläinen", EMAIL, PHONE, "+358509876543", "050 987 6543", "Kalliotie")


def routes(service: Service) -> list[tuple[str, str]]:
    found = set()
    for route in service.running.runner.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("formatter") or info.get("path") or info.get("prefix") or ""
        if route.method not in ("HEAD", "OPTIONS"):
            found.add((route.method, path))
    return sorted(found)


def names_record(path: str) -> bool:
    """The path names one record (a contact, a case…), not a kind of thing (a report)."""
    return re.search(r"\{(id|mid|aid|tid)\}", path) is not None


def is_public(method: str, path: str) -> bool:
    return (method, path) in PUBLIC or path.startswith(PUBLIC_PREFIXES)


class World:
    """One resident's records in Läntinen, and the ids that fill a route's path."""

    def __init__(self, ids: dict[str, int]) -> None:
        self.ids = ids

    def path(self, template: str) -> str:
        kind = ("contact" if template.startswith(("/contacts/", "/api/v1/contacts/")) else
                "case" if template.startswith(("/cases", "/api/v1/cases")) else
                "callback" if "/callbacks/" in template else
                "follow_up" if "/follow-ups/" in template else
                "template" if "/templates/" in template else
                "raw" if "/unparsed/" in template else
                "resident" if "/residents/" in template else "contact")
        values = {"id": self.ids[kind], "mid": self.ids["message"],
                  "aid": self.ids["attachment"], "tid": self.ids["template"], "token": "x" * 20,
                  "name": "who-contacted"}
        return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), template)


async def build(service: Service, own: str, lead: str) -> World:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = f"{NAME} <{EMAIL}>", SERVICE, "Vuokrarästi"
    mail["Message-ID"] = "<matrix@example.com>"
    mail.set_content(f"Asun Kalliotie 3, 00320 Helsinki. Puhelin {PHONE}.")
    mail.add_alternative(f"<p>Asun Kalliotie 3, 00320 Helsinki. Puhelin {PHONE}.</p>",
                         subtype="html")
    mail.add_attachment(b"%PDF-1.4\n%%EOF\n", maintype="application", subtype="pdf",
                        filename="lasku.pdf")
    await send(service, mail)
    [contact] = await service.wait_contacts(own, 1)
    detail = await service.get_json(f"/api/v1/contacts/{contact['id']}", own)
    await service.post_json(f"/api/v1/contacts/{contact['id']}/replies",
                            {"text": "Soitan huomenna", "secure": False}, own, status=201)
    _, callback = await service.post_json("/api/v1/callbacks", {
        "phone": PHONE, "postal_code": "00320", "language": "fi", "text": "Kalliotie"},
        status=201)
    assert callback is not None
    _, follow_up = await service.post_json(f"/api/v1/cases/{detail['case_id']}/follow-ups", {
        "due": (date.today() + timedelta(days=30)).isoformat(), "kind": "follow_up"},
        own, status=201)
    _, template = await service.post_json("/api/v1/templates", {
        "name": "Kiitos", "language": "fi", "text": "Hei {first_name}"}, lead, status=201)
    assert follow_up is not None and template is not None
    first = detail["messages"][0]
    return World({"contact": contact["id"], "case": detail["case_id"],
                  "resident": detail["resident"]["id"], "message": first["id"],
                  "attachment": first["attachments"][0]["id"], "callback": callback["id"],
                  "follow_up": follow_up["id"], "template": template["id"], "raw": 1})


def snapshot(session: Session, world: World) -> tuple[object, ...]:
    """What a write by the wrong person would change."""
    contact = session.get(Contact, world.ids["contact"])
    case = session.get(Case, world.ids["case"])
    callback = session.get(CallbackRequest, world.ids["callback"])
    assert contact and case and callback
    return (contact.status, contact.assignee_id, contact.area_code, contact.urgency,
            case.status, case.counsellor_id, case.area_code, callback.state,
            callback.claimed_by, callback.attempts,
            session.scalar(select(func.count()).select_from(Message)),
            session.scalar(select(func.count()).select_from(AccessLog)
                           .where(AccessLog.action == "write")))


def reads_of(session: Session, staff_email: str, resident_id: int | None) -> int:
    """Use-log rows of this staff member about the resident (None: about anyone)."""
    staff_id = session.scalar(select(Staff.id).where(Staff.email == staff_email))
    about = [AccessLog.resident_id == resident_id] if resident_id is not None else [
        AccessLog.resident_id.is_not(None)]
    return session.scalar(select(func.count()).select_from(AccessLog).where(
        AccessLog.staff_id == staff_id, AccessLog.action != "refused", *about)) or 0


def refusals_of(session: Session, staff_email: str, resident_id: int) -> int:
    """Use-log rows saying this staff member was refused the resident's data."""
    staff_id = session.scalar(select(Staff.id).where(Staff.email == staff_email))
    return session.scalar(select(func.count()).select_from(AccessLog).where(
        AccessLog.staff_id == staff_id, AccessLog.action == "refused",
        AccessLog.resident_id == resident_id)) or 0


async def call(service: Service, method: str, path: str, token: str | None
               ) -> tuple[int, str, str]:
    headers = service.auth(token) if token else {}
    body = {} if method != "GET" else None
    async with service.http.request(method, service.url + path, json=body, headers=headers,
                                    allow_redirects=False) as r:
        return r.status, await r.text(errors="replace"), r.headers.get("Location", "")


@pytest.fixture
async def world(service: Service) -> World:
    service.add_staff("ville@hel.fi", ["lantinen"], name="Ville Läntinen")
    service.add_staff("irma@hel.fi", ["itainen"], name="Irma Itäinen")
    service.add_staff("lead@hel.fi", [], role="lead")
    service.add_staff("admin@hel.fi", [], role="admin")
    service.add_staff("auditor@hel.fi", [], role="auditor")
    return await build(service, service.tokens["ville@hel.fi"], service.tokens["lead@hel.fi"])


async def test_every_route_has_a_place_in_the_matrix(service: Service):
    for method, path in routes(service):
        named = is_public(method, path) or path in LISTS or names_record(path)
        assert named, f"{method} {path}: say who may use it (tests/…/test_authorisation_matrix)"


async def test_the_unauthenticated_get_nothing_personal(service: Service, world: World):
    wrong = []
    for method, template in routes(service):
        if is_public(method, template):
            continue
        status, text, location = await call(service, method, world.path(template), None)
        refused = status in (401, 403) or (status in (302, 303)
                                           and location.startswith("/login"))
        if not refused or any(m in text for m in MARKERS):
            wrong.append(f"{method} {template} → {status}")
    assert wrong == []
    for operators in ("/healthz", "/metrics"):  # open to the orchestrator and Prometheus
        status, text, _ = await call(service, "GET", operators, None)
        assert status == 200 and not any(m in text for m in MARKERS), operators


async def test_another_areas_counsellor_reads_and_changes_nothing(service: Service,
                                                                 world: World):
    store = service.running.system.store
    irma = service.tokens["irma@hel.fi"]
    before = store.run(snapshot, world)
    wrong = []
    for method, template in routes(service):
        if is_public(method, template):
            continue
        status, text, _ = await call(service, method, world.path(template), irma)
        said = f"{method} {template} → {status}: {text[:160]}"
        if any(m in text for m in MARKERS):
            wrong.append(f"leaks: {said}")
        # A page's form post may answer with a redirect back that says why (nothing changed).
        refusals = (400, 403, 404, 409, 422) + (
            (303,) if method == "POST" and not template.startswith("/api/") else ())
        if names_record(template) and (method, template) not in LEADS_ONLY | AUDITOR_ONLY and (
                status not in refusals):
            wrong.append(f"not refused: {said}")
        if store.run(snapshot, world) != before:
            wrong.append(f"changed: {said}")
            before = store.run(snapshot, world)
    assert "\n".join(w.split(": <")[0] for w in wrong) == ""
    assert store.run(reads_of, "irma@hel.fi", world.ids["resident"]) == 0
    # ... and the use log says she asked (success or refusal, as the Act wants).
    assert store.run(refusals_of, "irma@hel.fi", world.ids["resident"]) > 0


async def test_leads_only_routes_refuse_a_counsellor(service: Service, world: World):
    for method, template in sorted(LEADS_ONLY | AUDITOR_ONLY | ADMIN_ONLY):
        status, _, _ = await call(service, method, world.path(template),
                                  service.tokens["ville@hel.fi"])
        assert status == 403, f"{method} {template} → {status}"
    for method, template in sorted(ADMIN_ONLY):  # a lead is no admin
        status, _, _ = await call(service, method, world.path(template),
                                  service.tokens["lead@hel.fi"])
        assert status == 403, f"{method} {template} → {status}"


async def test_an_auditor_reads_the_logs_and_no_residents_record(service: Service,
                                                                world: World):
    store, auditor = service.running.system.store, service.tokens["auditor@hel.fi"]
    before = store.run(snapshot, world)
    wrong = []
    for method, template in routes(service):
        if is_public(method, template):
            continue
        status, text, _ = await call(service, method, world.path(template), auditor)
        said = f"{method} {template} → {status}"
        if (method, template) in AUDITOR_ONLY:
            if status != 200:
                wrong.append(f"refused: {said}")
            continue
        if any(m in text for m in MARKERS):
            wrong.append(f"leaks: {said}")
        if names_record(template) and status not in (400, 403, 404, 409, 422, 303):
            wrong.append(f"not refused: {said}")
        if store.run(snapshot, world) != before:
            wrong.append(f"changed: {said}")
            before = store.run(snapshot, world)
    assert wrong == []


@pytest.mark.parametrize("email", ["ville@hel.fi", "lead@hel.fi", "admin@hel.fi"])
async def test_every_read_that_shows_the_resident_writes_its_use_log_row(
        service: Service, world: World, email: str):
    store, token = service.running.system.store, service.tokens[email]
    wrong = []
    for method, template in routes(service):
        if method != "GET" or is_public(method, template) or (method, template) in AUDITOR_ONLY:
            continue
        # A record of the resident's must log them; a list showing the callback's number
        # (a resident of its own until a counsellor links them) must log whom it shows.
        about = world.ids["resident"] if names_record(template) else None
        before = store.run(reads_of, email, about)
        path = world.path(template) + ("?q=Meik" if template == "/api/v1/residents" else "")
        status, text, _ = await call(service, method, path, token)
        logged = store.run(reads_of, email, about) > before
        if names_record(template) and status != 200:
            wrong.append(f"GET {template} → {status}")
        elif (names_record(template) or any(m in text for m in MARKERS)) and not logged:
            wrong.append(f"GET {template} → {status} shows the resident, logs nothing")
    assert wrong == []
