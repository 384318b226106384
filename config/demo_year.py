"""`yhteys demo --year`: a realistic year in the embedded default, seeded and deterministic,
sent through the real channels — mail over SMTP to our listener, chats over socket.io,
callback requests over HTTP — and worked through the API by the demo counsellors (who
contacted, reasons, rent-debt steps, interventions, replies, follow-ups, closing).

The service runs in this process with its clock set to each simulated moment, so case
work, follow-ups and closings carry their days. What the channels stamp with the real
time on arrival (a contact's receipt, its messages, its case's opening) is then dated
back to the simulated moment; the use log keeps the real time of every read (it is
append-only). The mix of who contacted and why is shaped like the deck's charts.
"""

from __future__ import annotations

import asyncio
import random
import smtplib
import socket
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any

import aiohttp
import socketio
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from config.serve import Running, start
from config.settings import Settings
from inbox.hours import HELSINKI
from inbox.models import AreaPostalCode, Case, Contact, Message, RawInbound
from inbox.staff import create_token

WHO = {1: 28, 2: 18, 3: 22, 4: 6, 5: 9, 6: 3, 7: 5, 8: 2, 9: 1, 10: 6}  # weights
TEXTS = {  # reason code → what a resident writes (fi, sv, en)
    2: ("Vuokra on rästissä kolmelta kuukaudelta, mitä teen?", "Jag har hyresskuld sedan i våras.",
        "I have rent arrears of three months."),
    1: ("En pysty maksamaan tämän kuun vuokraa.", "Jag kan inte betala hyran den här månaden.",
        "I cannot pay this month's rent."),
    12: ("Vuokranantaja irtisanoi, häätö uhkaa ensi viikolla.", "Hyresvärden hotar med vräkning.",
         "The landlord is threatening eviction."),
    13: ("Tarvitsen apua asumistilanteen selvittämiseen.", "Jag behöver hjälp med boendet.",
         "I need help sorting out my housing."),
    3: ("Naapuri valittaa häiriöstä, saimme varoituksen.", "Grannen klagar på störningar.",
        "A neighbour complains about disturbance."),
    5: ("Etsin pienempää asuntoa.", "Jag söker en mindre bostad.",
        "I am looking for a smaller flat."),
    14: ("Vuokra on liian suuri tuloihini nähden.", "Hyran är för hög för mina inkomster.",
         "The rent is too high for my income."),
}
REASON_WEIGHTS = {2: 40, 1: 15, 12: 10, 13: 14, 3: 8, 5: 7, 14: 6}
OUTCOMES = ("eviction_prevented", "debt_withdrawn_from_court", "lease_continues_fixed_term",
            "lease_continues_indefinitely", "service_received", "moved", "unreachable")
INTERVENTIONS = ("rent_debt", "poor_care", "disturbance", "dispute_mediation",
                 "homelessness_search", "cheaper_apartment")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Sink:
    """The relay: accepts every reply (so first answers are 'sent')."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def _weighted(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), list(weights.values()))[0]


def _moment(rng: random.Random, today: datetime) -> datetime:
    """A weekday during opening hours within the past year, Helsinki time."""
    while True:
        day = (today - timedelta(days=rng.randrange(1, 365))).date()
        if day.weekday() < 5:
            return datetime.combine(day, time(9 + rng.randrange(6), rng.randrange(60)),
                                    HELSINKI)


def _redate(session: Session, contact_id: int, at: datetime) -> None:
    """What the channels stamped with the real time now carries the simulated moment."""
    contact = session.get(Contact, contact_id)
    assert contact is not None
    shift = at - contact.received_at
    contact.received_at, contact.updated_at = at, at
    for message in session.scalars(select(Message).where(
            Message.conversation_id == contact.conversation_id)):
        message.at = message.at + shift if message.direction == "in" else at + timedelta(
            minutes=30 + (message.id % 240))
    session.execute(update(RawInbound).where(RawInbound.contact_id == contact_id)
                    .values(received_at=at))
    if contact.case_id is not None:
        case = session.get(Case, contact.case_id)
        if case is not None and case.opened_at > at:
            case.opened_at = at


class Year:
    def __init__(self, running: Running, http: aiohttp.ClientSession, seed: int) -> None:
        self.running, self.http, self.rng = running, http, random.Random(seed)
        self.url = f"http://127.0.0.1:{running.http_port}"
        store = running.system.store
        self.lead = store.run(create_token, "lead@demo.yhteys.localhost")
        self.postal = store.run(lambda s: [(p.postal_code, p.area_code) for p in s.scalars(
            select(AreaPostalCode).order_by(AreaPostalCode.postal_code))])

    async def api(self, method: str, path: str, body: object = None) -> Any:
        async with self.http.request(method, self.url + path, json=body,
                                     headers={"Authorization": f"Bearer {self.lead}"}) as r:
            return await r.json() if r.content_type.endswith("json") else None

    async def _count(self) -> int:
        return int((await self.api("GET", "/api/v1/contacts?folder=all&per_page=1"))["total"])

    async def arrive(self, n: int, at: datetime) -> int | None:
        """One contact through a real channel; its id once routed."""
        rng, before = self.rng, await self._count()
        reason = _weighted(rng, REASON_WEIGHTS)
        lang = rng.choices(("fi", "sv", "en"), (85, 10, 5))[0]
        text = TEXTS[reason][("fi", "sv", "en").index(lang)]
        postal, _ = rng.choice(self.postal)
        channel = rng.choices(("email", "chat", "phone"), (45, 30, 25))[0]
        address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        if channel == "email":
            mail = EmailMessage()
            mail["From"], mail["To"] = f"Asukas {n} <asukas{n}@example.fi>", \
                self.running.system.settings.service_address
            mail["Subject"], mail["Message-ID"] = text[:40], f"<demo-{n}@example.fi>"
            mail.set_content(f"{text}\n\nOsoite: {postal} Helsinki")
            await asyncio.to_thread(self._smtp, mail)
        elif channel == "chat":
            client = socketio.AsyncClient(reconnection=False)
            await client.connect(self.url, namespaces=["/chat"], transports=["websocket"],
                                 headers={"Origin": self.url, "X-Forwarded-For": address},
                                 wait_timeout=10)
            await client.call("start", {"postal_code": postal, "language": lang,
                                        "text": text}, namespace="/chat", timeout=10)
            await client.disconnect()
        else:
            async with self.http.post(self.url + "/api/v1/callbacks", json={
                    "phone": f"+35840{n:07d}", "postal_code": postal, "language": lang,
                    "text": text}, headers={"X-Forwarded-For": address}) as r:
                if r.status != 201:
                    return None
        for _ in range(400):  # routed in this process's job runner
            if await self._count() > before:
                return self.running.system.store.run(
                    lambda s: s.scalar(select(func.max(Contact.id))))
            await asyncio.sleep(0.05)
        return None

    def _smtp(self, mail: EmailMessage) -> None:
        with smtplib.SMTP("127.0.0.1", self.running.smtp_port, timeout=30) as client:
            client.send_message(mail)

    async def work(self, contact_id: int, at: datetime) -> None:
        """What a counsellor records on it over the following weeks."""
        rng, clock = self.rng, self.running.system.clock
        detail = await self.api("GET", f"/api/v1/contacts/{contact_id}")
        await self.api("POST", f"/api/v1/contacts/{contact_id}/routing",
                       {"who_contacted": _weighted(rng, WHO), "why": "kirjattu"})
        if detail.get("channel") == "email":
            await self.api("POST", f"/api/v1/contacts/{contact_id}/replies",
                           {"text": "Kiitos viestistä, soitan teille."})  # a secure message
        case_id = detail.get("case_id")
        if not case_id:
            return
        case = await self.api("GET", f"/api/v1/cases/{case_id}")
        if case.get("status") != "open":
            return
        reason = detail.get("reason") or _weighted(rng, REASON_WEIGHTS)
        await self.api("PATCH", f"/api/v1/cases/{case_id}",
                       {"version": case["version"], "reasons": [reason]})
        day = at
        for step in sorted(rng.sample(range(1, 15), rng.randrange(0, 4))):
            day += timedelta(days=rng.randrange(3, 30))
            clock.set(min(day, datetime.now(UTC)))
            await self.api("POST", f"/api/v1/cases/{case_id}/steps", {"code": step})
        for code in rng.sample(INTERVENTIONS, rng.randrange(0, 3)):
            await self.api("POST", f"/api/v1/cases/{case_id}/interventions", {"code": code})
        due = clock.now().astimezone(HELSINKI).date() + timedelta(days=rng.randrange(14, 120))
        planned = await self.api("POST", f"/api/v1/cases/{case_id}/follow-ups", {
            "due": due.isoformat(), "kind": rng.choice(("follow_up", "interim_evaluation"))})
        on_the_day = datetime.combine(due, time(10), HELSINKI)
        if on_the_day < datetime.now(UTC) and rng.random() < 0.85:  # most are kept
            clock.set(on_the_day)
            await self.api("POST", f"/api/v1/follow-ups/{planned['id']}/done")
        closes_at = day + timedelta(days=rng.randrange(30, 200))
        if rng.random() < 0.55 and closes_at < datetime.now(UTC):
            clock.set(closes_at)
            await self.api("POST", f"/api/v1/cases/{case_id}/close",
                           {"outcome": rng.choice(OUTCOMES)})


async def fill_year(settings: Settings, contacts: int = 400, seed: int = 2026) -> int:
    """Starts the service on free ports beside the configured one, sends `contacts`
    contacts over the year before today and works them; returns how many arrived."""
    sink = Controller(_Sink(), hostname="127.0.0.1", port=_free_port())
    sink.start()
    port = _free_port()
    demo = replace(settings, http_port=port, smtp_port=_free_port(),
                   allowed_origins=(*settings.allowed_origins, f"http://127.0.0.1:{port}"),
                   smtp_relay=("127.0.0.1", sink.port), redis_url=None,
                   trusted_proxies=frozenset({"127.0.0.1"}))
    running = await start(demo)
    made = 0
    try:
        async with aiohttp.ClientSession() as http:
            year = Year(running, http, seed)
            today = datetime.now(HELSINKI)
            moments = sorted(_moment(year.rng, today) for _ in range(contacts))
            for n, at in enumerate(moments):
                running.system.clock.set(at)
                contact_id = await year.arrive(n, at)
                if contact_id is None:
                    continue
                await year.work(contact_id, at)
                running.system.store.run(_redate, contact_id, at)
                made += 1
    finally:
        running.system.clock.set(None)
        await running.stop()
        sink.stop()
    return made
