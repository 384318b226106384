"""The composition root: builds every part from Settings and wires them together."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from sqlalchemy.orm import Session

from channels.email.authenticity import PartnerCheck, dns_txt
from channels.email.jobs import EmailJobs
from channels.email.outbound import relay_tls
from channels.email.reports import verp_message_id
from config.clock import Clock
from config.jobs import Handler, InProcessJobs, RqJobs
from config.reference_data import ReferenceData, load_reference_data
from config.settings import Settings
from inbox.attachments import Limits
from inbox.crypto import Sealer
from inbox.db import make_engine, make_sessionmaker, migrate, one_at_a_time
from inbox.outbound import Outbound
from inbox.ports import Deliverers, EventSink, JobQueue
from inbox.raw import seal_legacy
from inbox.reference import sync_reference_data
from inbox.reference_cache import ReferenceCache
from inbox.store import Store
from inbox.taxonomy import CaseVocabulary
from router.pipeline import Router
from web.i18n import Catalogs

log = logging.getLogger(__name__)


class FanOutSink:
    """Publishes each event to every subscriber; subscribers join once the loop runs."""

    def __init__(self) -> None:
        self.subscribers: list[Callable[[dict[str, Any]], None]] = []

    def publish(self, event: dict[str, Any]) -> None:
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber failed")


@dataclass
class System:
    settings: Settings
    reference: ReferenceData
    store: Store
    router: Router
    jobs: JobQueue
    deliverers: Deliverers
    outbound: Outbound
    email_jobs: EmailJobs
    catalogs: Catalogs
    events: FanOutSink = field(default_factory=FanOutSink)
    clock: Clock = field(default_factory=Clock)

    @property
    def case_vocabulary(self) -> CaseVocabulary:
        """The reference data's taxonomies and the settings' urgency days."""
        return CaseVocabulary(
            steps=frozenset(self.reference.rent_debt_steps),
            reasons=frozenset(self.reference.reasons),
            who_contacted=frozenset(self.reference.who_contacted),
            urgent_eviction_days=self.settings.urgent_eviction_days,
            high_hearing_days=self.settings.high_hearing_days,
            high_discharge_days=self.settings.high_discharge_days)

    @property
    def job_handlers(self) -> dict[str, Handler]:
        return {"email.process": self.email_jobs.process, "email.send": self.email_jobs.send,
                "email.portal": self.email_jobs.portal,
                "email.receipt": self.email_jobs.receipt}

    def accepts_mail_for(self, address: str) -> bool:
        """The service address, postmaster (RFC 5321 §4.5.1) and our own VERP bounces."""
        domain = self.settings.service_domain
        return (address in (self.settings.service_address, f"postmaster@{domain}")
                or (address.endswith(f"@{domain}")
                    and verp_message_id(address, self.settings.secret_key) is not None))

    def prepare_database(self) -> None:
        """Migrate and bring reference data in step with config (idempotent)."""
        migrate(self.store.engine)
        sealed = self.store.run(_prepare_data, self.reference)
        if sealed:
            log.info("sealed %s stored inputs and attachments under the current key", sealed)


def _prepare_data(session: Session, reference: ReferenceData) -> int:
    one_at_a_time(session)
    sync_reference_data(session, reference.areas, reference.partners)
    return seal_legacy(session)


def _build(settings: Settings, events: EventSink | None, jobs: JobQueue | None) -> System:
    if settings.database_url.startswith("sqlite"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    fan_out = FanOutSink()
    if events is not None:
        fan_out.subscribers.append(events.publish)
    store = Store(engine, make_sessionmaker(engine), fan_out,
                  Sealer(settings.secret_key, settings.retired_secret_keys))
    router = Router(settings.secret_key, reference=ReferenceCache())
    deliverers = Deliverers()
    catalogs = Catalogs.load()
    reference = load_reference_data(settings.config_path)
    email_jobs = EmailJobs(store, router, settings.service_address, settings.secret_key,
                           settings.smtp_relay, max_attempts=len(settings.retry_delays) + 1,
                           words=catalogs.gettext, public_url=settings.public_url,
                           secure_link_days=settings.secure_link_days,
                           relay_tls=relay_tls(settings.smtp_relay_tls, settings.smtp_relay_ca),
                           tls_only_domains=frozenset(
                               d for p in reference.partners if p.tls_required
                               for d in p.domains),
                           partner_domains=frozenset(
                               d for p in reference.partners for d in p.domains),
                           partner_check=PartnerCheck(settings.trusted_authserv_ids,
                                                      dns_txt(settings.dkim_dns)),
                           limits=Limits(settings.attachment_max_bytes,
                                         settings.attachment_message_max_bytes))
    queue: JobQueue
    if jobs is not None:
        queue = jobs
    elif settings.redis_url:
        queue = RqJobs(Redis.from_url(settings.redis_url), settings.retry_delays)
    else:
        queue = InProcessJobs({}, settings.retry_delays)
    if settings.email_receipts:
        email_jobs.jobs, email_jobs.answer_days = queue, settings.answer_days
    outbound = Outbound(store, deliverers, settings.secure_replies)
    system = System(settings, reference, store, router, queue,
                    deliverers, outbound, email_jobs, catalogs, fan_out)
    if isinstance(queue, InProcessJobs):
        queue.handlers.update(system.job_handlers)
    return system


def build_system(settings: Settings) -> System:
    return _build(settings, None, None)


def build_worker_system(settings: Settings) -> System:
    """For `yhteys worker`: events reach the serve processes' /inbox through Redis."""
    import socketio

    from inbox.access import event_rooms

    if not settings.redis_url:
        raise SystemExit("yhteys worker needs YHTEYS_REDIS_URL (the embedded default runs "
                         "jobs inside `yhteys serve`)")
    manager = socketio.RedisManager(settings.redis_url, write_only=True)

    class RedisSink:
        def publish(self, event: dict[str, Any]) -> None:
            manager.emit("event", event, room=event_rooms(event), namespace="/inbox")

    return _build(settings, RedisSink(), None)
