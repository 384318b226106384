"""The email jobs: parse-and-route a stored mail; send a reply through the relay.

Both are idempotent, because a queue may run a job twice.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field, replace
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from channels.email.authenticity import PartnerCheck
from channels.email.outbound import RelayTLS, TLSRequired, compose_reply, send
from channels.email.parse import Unparseable, inbound_from, read_message
from channels.email.reports import (
    delivery_report,
    is_auto_reply,
    verp_address,
    verp_message_id,
)
from channels.email.secure_mail import Words, notification, portal_mail, receipt_mail
from inbox.attachments import Limits
from inbox.contacts import mark_delivery
from inbox.inbound import Inbound
from inbox.models import Contact, Message
from inbox.ports import JobQueue
from inbox.raw import RawCopy, claim_raw, load_raws, mark_unparseable
from inbox.receipts import claim_receipt, release_receipt
from inbox.reports import record_delivery_report
from inbox.secure import now_utc
from inbox.store import Store
from router.pipeline import Router

log = logging.getLogger(__name__)
SENDABLE = ("pending", "retrying")  # a retry puts a failed or bounced reply back to pending


def _permanent(exc: Exception) -> bool:
    """A 5xx answer will not change on retry; a 4xx or a network error may."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


class RetryLater(Exception):
    """Raised so the queue runs the job again after its next delay."""


@dataclass
class EmailJobs:
    store: Store
    router: Router
    service_address: str
    secret_key: bytes
    relay: tuple[str, int] | None
    max_attempts: int
    words: Words = field(default=lambda lang, key, **params: key)
    relay_tls: RelayTLS | None = None
    jobs: JobQueue | None = None  # set by the composition root: receipts are jobs too
    answer_days: int = 3
    tls_only_domains: frozenset[str] = frozenset()  # partners: verified TLS or nothing
    partner_domains: frozenset[str] = frozenset()
    partner_check: PartnerCheck | None = None
    public_url: str = "http://127.0.0.1:8080"
    secure_link_days: int = 30
    limits: Limits = field(default_factory=Limits)  # attachments: Settings' limits

    def process(self, *raw_ids: int) -> None:
        """Route these stored mails: what one group commit of the listener stored is one
        job, so its mails cost one dequeue and one read. Each is parsed outside any
        transaction (the slow part), then routed in a transaction of its own, so one
        mail's trouble is not its neighbours'. One that must be tried again (a busy
        database) makes the job raise once the rest are done; its retry skips the mails
        routed meanwhile, as it does those a job run twice finds processed."""
        again: Exception | None = None
        for raw in self.store.run(load_raws, raw_ids):
            try:
                self._process(raw)
            except Exception as exc:
                if again is None:
                    again = exc
                else:
                    log.warning("raw mail %s to be routed again: %s", raw.id, exc)
        if again is not None:
            raise again

    def _process(self, raw: RawCopy) -> None:
        raw_id = raw.id
        try:
            message = read_message(raw.data)
            rcpt_tos = [str(r) for r in (raw.envelope or {}).get("rcpt_tos", [])]
            mail_from = (raw.envelope or {}).get("mail_from")
            report = delivery_report(message, rcpt_tos, self.secret_key,
                                     None if mail_from is None else str(mail_from))
            if report is not None:
                verp = next((m for m in (verp_message_id(r, self.secret_key) for r in rcpt_tos)
                             if m is not None), None)
                self.store.run(record_delivery_report, raw_id, verp, report.reported_ids,
                               report.permanent, report.reason)
                return
            inbound = self._with_partner_proof(inbound_from(
                message, raw.id, raw.idempotency_key, raw.received_at,
                auto_reply=is_auto_reply(message),
                envelope_sender=str((raw.envelope or {}).get("mail_from") or "") or None,
                limits=self.limits),
                raw.data, message, raw.envelope or {})
        except Unparseable as exc:
            log.warning("raw mail %s kept for manual handling: %s", raw_id, exc)
            self.store.run(mark_unparseable, raw_id, str(exc))
            return
        # Receipts never answer an auto-reply or a list (RFC 3834), nor mail from no one.
        owed = (self.jobs is not None and not inbound.auto_reply
                and message.get("List-Id") is None and message.get("List-Post") is None
                and bool((raw.envelope or {}).get("mail_from")))
        try:
            receipt_for = self.store.run(self._route, inbound, owed)
        except (OperationalError, IntegrityError):
            raise  # the database was busy or a concurrent run got there: the queue retries
        except Exception as exc:
            # A mail that got a 250 is routed or shown to a person, never left in "stored".
            log.exception("routing raw mail %s failed", raw_id)
            self.store.run(mark_unparseable, raw_id,
                           f"routing failed: {type(exc).__name__}: {exc}")
            return
        if receipt_for is not None and self.jobs is not None:
            # Only now: a receipt job started before the contact's commit would find none.
            self.jobs.enqueue("email.receipt", receipt_for,
                              job_id=f"email-receipt-{receipt_for}")

    def _with_partner_proof(self, inbound: Inbound, data: bytes, message: EmailMessage,
                            envelope: dict[str, object]) -> Inbound:
        """A sender at a partner's domain must prove it (authenticity.py)."""
        domain = (inbound.sender_email or "").rpartition("@")[2]
        if self.partner_check is None or domain not in self.partner_domains:
            return inbound
        verified, why = self.partner_check.verify(data, message, domain,
                                                  bool(envelope.get("tls")))
        return replace(inbound, partner_verified=verified, partner_evidence=why)

    def _route(self, session: Session, inbound: Inbound, receipt: bool = False) -> int | None:
        """Route the mail; the contact owed a receipt (a new thread's), if any."""
        assert inbound.raw_id is not None
        if not claim_raw(session, inbound.raw_id):  # a concurrent run got there first
            return None
        recorded = self.router.route(session, inbound)
        return recorded.contact_id if receipt and recorded.created and recorded.seq == 1 \
            else None

    def receipt(self, contact_id: int) -> None:
        """The one automatic receipt of a new thread: when we answer, and a secure link
        instead of plain email for anything personal."""
        with self.store.unit() as session:
            owed = claim_receipt(session, contact_id, now_utc())
            mail = None if owed is None else receipt_mail(
                session, self.secret_key, self.words, owed, self.public_url,
                self.service_address, self.answer_days)
        if mail is None or self.relay is None:
            return
        try:
            send(mail, self.relay, tls=self.relay_tls)
        except (OSError, smtplib.SMTPException) as exc:
            if _permanent(exc):
                log.warning("receipt for contact %s refused by the relay: %s", contact_id, exc)
                return
            self.store.run(release_receipt, contact_id)  # owed again: the queue retries
            raise RetryLater(f"receipt for contact {contact_id}: {exc}") from exc

    def send(self, message_id: int) -> None:
        """Try once; record the outcome on the message; raise RetryLater while tries remain.
        One process at a time sends a reply (a retried job and a restart's redelivery may
        meet): the other one leaves it, and what it reads after is the first one's result."""
        with self.store.hold(f"email.send:{message_id}") as mine:
            if mine:
                self._send(message_id)

    def _send(self, message_id: int) -> None:
        with self.store.unit() as session:
            message = session.get(Message, message_id)
            if message is None or message.delivery_state not in SENDABLE:
                return  # left already, or failed for good: only a counsellor's retry resends
            mail = compose_reply(session, message_id, self.service_address, self.secret_key)
            if mail is not None and message.secure:  # the link, never the text
                mail = notification(session, self.secret_key, self.words, mail, message_id,
                                    _language(session, message), self.public_url,
                                    self.secure_link_days)
            attempts, secure = message.delivery_attempts, message.secure
        if mail is None:
            self.store.run(mark_delivery, message_id, "failed", "no address to reply to")
            return
        if self.relay is None:
            self.store.run(mark_delivery, message_id, "failed", "YHTEYS_SMTP_RELAY is not set")
            return
        domain = self.service_address.rpartition("@")[2]
        to_domain = str(mail["To"]).rpartition("@")[2].strip(" >").lower()
        try:
            send(mail, self.relay, verp_address(message_id, domain, self.secret_key),
                 self.relay_tls, require_tls=to_domain in self.tls_only_domains)
        except (TLSRequired, ssl.SSLError) as exc:  # never retried in clear
            self.store.run(mark_delivery, message_id, "failed",
                           f"held, not sent: {exc}")
            return
        except (OSError, smtplib.SMTPException) as exc:
            permanent = _permanent(exc)
            final = permanent or attempts + 1 >= self.max_attempts
            error = f"{type(exc).__name__}: {exc}"
            self.store.run(mark_delivery, message_id, "failed" if final else "retrying", error)
            if not final:
                raise RetryLater(error) from exc
            return
        self.store.run(mark_delivery, message_id, "notified" if secure else "sent", None,
                       str(mail["Message-ID"]))

    def portal(self, kind: str, link_id: int) -> None:
        """A one-time code or a compose link, written from the link's state; a failure is
        retried by the queue (the resident can also ask for the mail again)."""
        with self.store.unit() as session:
            mail = portal_mail(session, self.secret_key, self.words, kind, link_id,
                               self.public_url, self.service_address)
        if mail is None:
            return
        if self.relay is None:
            log.error("portal mail %s for link %s not sent: YHTEYS_SMTP_RELAY is not set",
                      kind, link_id)
            return
        try:
            send(mail, self.relay, tls=self.relay_tls)
        except (OSError, smtplib.SMTPException) as exc:
            if _permanent(exc):
                log.error("portal mail %s for link %s refused: %s", kind, link_id, exc)
                return
            raise RetryLater(str(exc)) from exc


def _language(session: Session, message: Message) -> str:
    contact = session.scalar(select(Contact).where(
        Contact.conversation_id == message.conversation_id))
    return (contact.language if contact and contact.language else "fi")
