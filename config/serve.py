"""`yhteys serve`: one asyncio process with HTTP, socket.io, the SMTP listener and jobs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from channels.chat.deliver import ChatDeliverer
from channels.chat.namespace import ChatLimits, ChatNamespace
from channels.chat.status import StatusBoard
from channels.email.imap import ImapPoller, Mailbox
from channels.email.listener import EmailHandler, SmtpListener, YhteysSMTP
from channels.phone import openapi as phone_openapi
from channels.phone.http import PhoneChannel
from channels.phone.telephony import TelephonyEvents
from channels.phone.words import Speaker
from config.chat_redis import RedisPresence, RedisToldStatuses
from config.checks import RedisCheck, lease_check, smtp_check
from config.handoff import LoopHandoff
from config.jobs import InProcessJobs
from config.ratelimit import ConnectionWindow, RateLimits
from config.rooms import SharedRooms
from config.settings import Settings
from config.system import System, build_system
from config.worker import requeue_stored_mail
from inbox import retention
from inbox.audit import seal
from inbox.callbacks import QueueRules, release_stale_claims
from inbox.followups import raise_due
from inbox.hours import HELSINKI
from web.app import FRONT_END, WebConfig, build_app
from web.auth import require_staff
from web.chat_api import ChatApi
from web.health import Check
from web.i18n import request_language
from web.inbox_ns import InboxNamespace
from web.secure import SecurePortal

log = logging.getLogger(__name__)
MAIL_LOST_AFTER = timedelta(minutes=2)  # stored mail not routed by then lost its job
SHUTDOWN_S = 5.0  # what an in-flight HTTP request gets to finish once SIGTERM came


@dataclass
class Running:
    system: System
    runner: web.AppRunner
    smtp: asyncio.base_events.Server
    http_port: int
    smtp_port: int
    imap: asyncio.Task[None] | None = None
    chat: ChatNamespace | None = None
    board: StatusBoard | None = None
    background: list[asyncio.Task[None]] = field(default_factory=list)
    sio: socketio.AsyncServer | None = None
    closing: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # at the end
    handoff: LoopHandoff | None = None
    stopped: bool = False

    async def stop(self) -> None:
        """In an orchestrator's grace (10 s): open websockets would hold aiohttp's cleanup
        for its whole shutdown timeout, so every socket.io client is told goodbye first
        (a resident's widget reconnects to another serve), then in-flight requests get
        SHUTDOWN_S to finish, then jobs in this process are handed back."""
        if self.stopped:
            return
        self.stopped = True
        if self.imap is not None:
            self.imap.cancel()
        for task in self.background:
            task.cancel()
        if self.board is not None:
            await self.board.close()
        if self.chat is not None:
            await self.chat.close()
        self.smtp.close()
        if self.handoff is not None:
            await self.handoff.drain(SHUTDOWN_S)
        if self.sio is not None:
            await _say_goodbye(self.sio)
            await self.sio.shutdown()
        await self.smtp.wait_closed()
        await self.runner.cleanup()
        if isinstance(self.system.jobs, InProcessJobs):
            await self.system.jobs.drain()
        for close in self.closing:
            await close()
        await asyncio.to_thread(self.system.store.engine.dispose)


async def _say_goodbye(sio: socketio.AsyncServer) -> None:
    """Every client of this serve is disconnected (its disconnect handlers run; a widget
    reconnects to another serve). Nobody waits for a client to read its goodbye: engine.io's
    own disconnect-all does, for ever for a browser gone mid-poll. aiohttp's cleanup then
    closes what is left of the connections."""
    for socket in list(sio.eio.sockets.values()):
        with contextlib.suppress(Exception):  # one client's trouble stops no other's goodbye
            await socket.close(wait=False)


def _loop_subscriber(handoff: LoopHandoff, inbox: InboxNamespace,
                     board: StatusBoard) -> Any:
    """Events come from worker threads; socket.io emits must happen on the loop."""
    def publish(event: dict[str, Any]) -> None:
        handoff.submit(inbox.broadcast(event))
        handoff.loop.call_soon_threadsafe(board.on_event, event)
    return publish


def _front_end(assets: Path) -> Path:
    """Pages without their styles and chat client would look served and be broken."""
    missing = [f for f in FRONT_END.values() if not (assets / f).is_dir()]
    if missing:
        raise SystemExit(f"the front-end packages are missing from {assets} ({', '.join(missing)})"
                         ": run `npm ci` there, or point YHTEYS_ASSETS_DIR at them")
    return assets


async def start(settings: Settings) -> Running:
    assets = _front_end(settings.assets_dir)  # before anything that would need closing
    loop = asyncio.get_running_loop()
    system = build_system(settings)
    await asyncio.to_thread(system.prepare_database)
    manager = SharedRooms(settings.redis_url) if settings.redis_url else None
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager,
                               cors_allowed_origins=[*settings.allowed_origins,
                                                     *settings.widget_origins])
    reference = system.reference
    chat: ChatNamespace | None = None

    async def emit_status(conversation_id: int, status: dict[str, Any]) -> None:
        if chat is not None:
            await chat.emit_status(conversation_id, status)

    limits = RateLimits(settings.redis_url)
    presence, told = ((RedisPresence(settings.redis_url), RedisToldStatuses(settings.redis_url))
                      if settings.redis_url else (None, None))
    board = StatusBoard(system.store, emit_status, system.clock.now, reference.hours,
                        settings.chat_handling_s, told=told)
    inbox = InboxNamespace(system.store, settings.allowed_origins)
    per_connection = ConnectionWindow(30)  # starts and messages
    chat_limits = ChatLimits(limits.per("chat.connect", settings.chat_connects_per_min).allow,
                             per_connection.allow, per_connection.forget)
    chat = ChatNamespace(system.store, system.router, chat_limits, settings.secret_key,
                         frozenset(reference.reasons), board, inbox.broadcast, presence)
    inbox.chat_presence, inbox.chat_typing = chat.presence, chat.counsellor_typing
    sio.register_namespace(inbox)
    sio.register_namespace(chat)
    handoff = LoopHandoff(loop)
    system.events.subscribers.append(_loop_subscriber(handoff, inbox, board))
    system.deliverers.register("chat", ChatDeliverer(sio, system.store, handoff.submit,
                                                     board.settle))
    system.deliverers.register("email", _EmailDeliverer(system))
    if isinstance(system.jobs, InProcessJobs):
        system.jobs.start(loop)
    catalogs = system.catalogs
    rules = settings.callback_rules
    phone = PhoneChannel(system.store, system.router, require_staff,
                         limits.per("callback.request", 10).allow,
                         system.clock.now, reference.hours,
                         Speaker(catalogs.gettext, request_language), rules)
    telephony = TelephonyEvents(system.store, system.router, settings.telephony_secret,
                                system.clock.now, inbox.broadcast, rules)
    chat_api = ChatApi(system.store, system.clock.now, reference.hours,
                       settings.chat_handling_s, limits.per("chat.api", 120).allow, catalogs)
    checks: dict[str, Check] = {}  # /healthz's; the SMTP listener's is added once it listens
    closing: list[Callable[[], Awaitable[None]]] = [manager.aclose] if manager else []
    if settings.redis_url:
        redis_check = RedisCheck(settings.redis_url)
        checks["redis"] = redis_check
        closing.append(redis_check.aclose)
    app = build_app(WebConfig(
        health_checks=checks,
        store=system.store, outbound=system.outbound,
        allowed_origins=settings.allowed_origins, cookie_secure=settings.cookie_secure,
        allow_login=limits.per("login", 20).allow, node_modules=assets,
        labels={"who": system.reference.who_contacted, "reasons": system.reference.reasons,
                "steps": system.reference.rent_debt_steps},
        extra_routes=[*phone.routes(), *telephony.routes(), *chat_api.routes()],
        extra_openapi={**phone_openapi.PATHS, **chat_api.openapi()},
        trusted_proxies=settings.trusted_proxies, widget_origins=settings.widget_origins,
        privacy_url=settings.privacy_url, catalogs=catalogs, jobs=system.jobs,
        clock=system.clock.now, callback_rules=rules, case_vocabulary=system.case_vocabulary,
        hours=reference.hours,
        router=system.router, retention_years=settings.retention_years,
        accounts=replace(settings.account_rules,  # demo logins: the embedded default only
                         demo_logins=settings.database_url.startswith("sqlite")),
        portal=SecurePortal(system.store, system.router, system.jobs, settings.secret_key,
                            system.clock.now, catalogs, settings.cookie_secure,
                            settings.privacy_url, limits.per("secure.code", 5, 3600).allow,
                            limits.per("secure.new", 10, 3600).allow,
                            limits=system.email_jobs.limits),
    ))
    sio.attach(app)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_S)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    try:
        await site.start()
    except OSError:  # the HTTP port is taken
        await _abandon(runner, system)
        raise
    tls = _tls_context(settings)
    tls_only = frozenset(d for p in system.reference.partners if p.tls_required
                         for d in p.domains) if tls else frozenset()
    handler = EmailHandler(system.store, system.jobs, system.accepts_mail_for,
                           settings.service_address, tls_only)
    listener = SmtpListener(
        lambda: YhteysSMTP(handler, data_size_limit=settings.smtp_max_bytes,
                           hostname=settings.service_domain, ident="Yhteys ESMTP",
                           tls_context=tls, enable_SMTPUTF8=True,
                           timeout=settings.smtp_idle_s),
        settings.smtp_max_connections, settings.smtp_max_per_client)
    try:
        smtp = await loop.create_server(listener, settings.smtp_host, settings.smtp_port)
    except OSError:  # e.g. the SMTP port is taken: leave nothing half started behind
        await _abandon(runner, system)
        raise
    checks["smtp"] = smtp_check(smtp, listener)
    closing.append(handler.intake.close)
    http_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    smtp_port = smtp.sockets[0].getsockname()[1]
    await _resume_unfinished(system)
    checks["leases"] = lease_check(system.store, ["timers"])
    imap_task = _start_imap(settings, system, checks)
    clock_task = loop.create_task(board.run_clock())
    sweep_task = loop.create_task(_every_minute(system, rules))
    log.info("Yhteys serving http://%s:%s and SMTP %s:%s", settings.http_host, http_port,
             settings.smtp_host, smtp_port)
    return Running(system, runner, smtp, http_port, smtp_port, imap_task, chat, board,
                   [clock_task, sweep_task], sio, closing, handoff)


async def _every_minute(system: System, rules: QueueRules) -> None:
    """The timers, once a minute in whichever serve takes the tick's lock first (the others
    skip it): claims left unresolved go back to the queue, follow-ups due today are raised
    (once: each is marked in the transaction that raises it) and key dates coming closer
    raise urgency; settled log rows are sealed; the day's retention runs once; stored mail
    whose job was lost (the queue was down) is queued again.
    Claiming and listing release stale claims too, so a missed tick loses nothing."""
    while True:
        try:
            if await asyncio.to_thread(_tick, system, rules, system.clock.now()):
                await _queue_waiting_mail(system, datetime.now(UTC) - MAIL_LOST_AFTER)
        except Exception:  # the database may be restarting: try again next minute
            log.exception("a timer failed")
        await asyncio.sleep(60)


def _tick(system: System, rules: QueueRules, now: datetime) -> bool:
    """One tick's database work, if no other process is doing this tick's now."""
    store = system.store
    with store.hold("timers") as mine:
        if not mine:
            return False
        store.run(release_stale_claims, now, rules)
        store.run(raise_due, now.astimezone(HELSINKI).date(), now, system.case_vocabulary)
        store.run(seal, datetime.now(UTC))  # rows carry the real time
        store.run(retention.daily, now, system.settings.retention_rules)
        return True


async def _abandon(runner: web.AppRunner, system: System) -> None:
    """A start that failed half way (a port taken) leaves nothing running behind."""
    await runner.cleanup()
    if isinstance(system.jobs, InProcessJobs):
        await system.jobs.drain()
    await asyncio.to_thread(system.store.engine.dispose)


def _tls_context(settings: Settings) -> ssl.SSLContext | None:
    """STARTTLS when a certificate is configured; partners' TLS policy applies only then."""
    if settings.smtp_tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.smtp_tls_cert, settings.smtp_tls_key)
    return context


def _start_imap(settings: Settings, system: System, checks: dict[str, Check]
                ) -> asyncio.Task[None] | None:
    poller = imap_poller(settings, system)
    if poller is None:
        return None
    checks["leases"] = lease_check(system.store, ["timers", poller.lease])
    return asyncio.get_running_loop().create_task(poller.run())


def imap_poller(settings: Settings, system: System) -> ImapPoller | None:
    """YHTEYS_IMAP_HOST (…_PORT, _USER, _PASSWORD, _FOLDER, _SSL, _CA, _INTERVAL, _IDLE,
    _IDLE_TIMEOUT) turns it on."""
    if not settings.imap:
        return None
    cfg = settings.imap
    off = ("0", "false", "no")
    use_ssl = cfg.get("ssl", "1") not in off
    mailbox = Mailbox(cfg["host"], int(cfg.get("port", "993" if use_ssl else "143")),
                      cfg["user"], cfg["password"], cfg.get("folder", "INBOX"), use_ssl,
                      cfg.get("ca") or None)
    return ImapPoller(mailbox, system.store, system.jobs, float(cfg.get("interval", "30")),
                      idle=cfg.get("idle", "1") not in off,
                      idle_timeout=float(cfg.get("idle_timeout", "300")))


class _EmailDeliverer:
    def __init__(self, system: System):
        self.jobs = system.jobs

    def deliver(self, message_id: int) -> None:
        self.jobs.enqueue("email.send", message_id, job_id=f"email-send-{message_id}")


async def _queue_waiting_mail(system: System, stored_before: datetime | None = None
                              ) -> None:
    """Stored mail not yet routed goes (again) to the queue, unless its job is queued or
    running; a queue that is down is tried again at the next tick, mail stays stored. The
    timer's mail has waited minutes and nobody is routing it (its row is free): a job said
    to be running for it belongs to a worker that died."""
    try:
        await asyncio.to_thread(requeue_stored_mail, system, stored_before,
                                trust_running=stored_before is None)
    except Exception:
        log.warning("stored mail could not be queued; trying again in a minute",
                    exc_info=True)


async def _resume_unfinished(system: System) -> None:
    """After a restart: queue stored-but-unrouted mail and hand pending replies on again."""
    await _queue_waiting_mail(system)
    await system.outbound.redeliver_pending()


def settle_memory() -> None:
    """What start-up built lives as long as the process: move it out of the garbage
    collector's sight, so a full collection scans only what requests made, and make full
    collections ten times rarer (young ones still reclaim the cycles a request leaves).
    With a thousand residents chatting, each full collection paused the serve 100-350 ms
    (bench/chat_roundtrip.py --think 3, p99: 450 ms; frozen, ~200; rarer too, 73)."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)


async def serve_forever(settings: Settings) -> None:
    running = await start(settings)
    settle_memory()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"Yhteys: http://{settings.http_host}:{running.http_port}  "
          f"SMTP {settings.smtp_host}:{running.smtp_port}  "
          f"({'embedded SQLite, in-process jobs' if settings.embedded else 'Redis jobs'})",
          flush=True)
    await stop.wait()
    await running.stop()
