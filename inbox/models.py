"""SQLAlchemy models of the domain (DESIGN.md, "Domain model").

Portable across SQLite and PostgreSQL: JSON columns, no engine-specific types.
Only the services in this package write these rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware on both engines (SQLite hands back naive datetimes)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        # Stored as UTC: SQLite keeps only the wall-clock time, so 09:00+02:00 would come
        # back as 09:00 UTC (and compare wrongly with UTC times in queries).
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


Timestamp = UTCDateTime()


class Area(Base):
    __tablename__ = "areas"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


class AreaPostalCode(Base):
    __tablename__ = "area_postal_codes"
    postal_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    district: Mapped[str] = mapped_column(String(120))


class Partner(Base):
    __tablename__ = "partners"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    domains: Mapped[list[Any]] = mapped_column(default=list)
    who_contacted: Mapped[int] = mapped_column(Integer, default=10)
    tls_required: Mapped[bool] = mapped_column(Boolean, default=True)


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="counsellor")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    languages: Mapped[list[Any]] = mapped_column(default=lambda: ["fi"])
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    # The counsellor UI's language they chose (fi, sv, en); none: their browser's.
    ui_language: Mapped[str | None] = mapped_column(String(2))
    # Their desk phone, as the phone system names it: E.164 number and/or extension.
    phone: Mapped[str | None] = mapped_column(String(32), unique=True)
    extension: Mapped[str | None] = mapped_column(String(16), unique=True)
    # The second factor (inbox/totp.py): the TOTP secret sealed at rest, and the last time
    # step a code was accepted for (a code is never accepted twice).
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)  # `yhteys demo`: no 2nd factor
    disabled_at: Mapped[datetime | None] = mapped_column(Timestamp)  # no sessions, no tokens
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    areas: Mapped[list[StaffArea]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def area_codes(self) -> list[str]:
        return sorted(a.area_code for a in self.areas)


class StaffArea(Base):
    __tablename__ = "staff_areas"
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    name: Mapped[str] = mapped_column(String(100), default="")
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_used_at: Mapped[datetime | None] = mapped_column(Timestamp)


class StaffSession(Base):
    __tablename__ = "staff_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    # "live", or a login half way: "code" (password right, code to come) or "enrol" (a
    # first code for `pending_secret`, sealed); `next_path`/`language` wait with it.
    stage: Mapped[str] = mapped_column(String(8), default="live")
    last_seen_at: Mapped[datetime | None] = mapped_column(Timestamp)
    pending_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    next_path: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(2))


class RecoveryCode(Base):
    """One of a staff member's one-time recovery codes for the second factor (argon2)."""

    __tablename__ = "staff_recovery_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)


class LoginFailure(Base):
    """A failed login step, keyed "account:<email>" or "address:<ip>": the throttle counts
    them in the database so that it holds across processes and restarts."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), index=True)
    at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class Resident(Base):
    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(5))
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # Anonymised (inbox/rights.py): when, by which admin, and why; the row stays so that
    # cases and logs still point at someone.
    erased_at: Mapped[datetime | None] = mapped_column(Timestamp)
    erased_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    erasure_reason: Mapped[str | None] = mapped_column(Text)
    identifiers: Mapped[list[ResidentIdentifier]] = relationship(lazy="selectin")


class ResidentIdentifier(Base):
    """One way to recognise a resident: email, phone (E.164), chat token hash, hetu hash."""

    __tablename__ = "resident_identifiers"
    __table_args__ = (UniqueConstraint("kind", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(254))


class Case(Base):
    """A resident's client relationship, 6 to 24 months: reasons, key dates that drive its
    urgency, a timeline of events (process steps, interventions, notes…), follow-ups and
    an outcome. `version` guards edits that overwrite: two at once, the second is told."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    counsellor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    housing_type: Mapped[str | None] = mapped_column(String(32))
    eviction_date: Mapped[date | None] = mapped_column(Date)
    hearing_date: Mapped[date | None] = mapped_column(Date)  # district court
    discharge_date: Mapped[date | None] = mapped_column(Date)  # from hospital
    urgency: Mapped[str] = mapped_column(String(16), default="normal")  # from the dates
    outcome: Mapped[str | None] = mapped_column(Text)
    previous_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)


class CaseEvent(Base):
    """One entry of a case's timeline: a rent-debt process step, an intervention, a
    partner in network work, a goal, a meeting or home visit, a note, a letter, a
    handover, the closing. `code` is a taxonomy code; `text` the counsellor's words."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)  # when it happened
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class ContactNote(Base):
    """A counsellor's internal note on a contact: never sent to the resident."""

    __tablename__ = "contact_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class ReplyTemplate(Base):
    """A reply a lead keeps for everyone, per language, with {placeholders}."""

    __tablename__ = "reply_templates"
    __table_args__ = (UniqueConstraint("name", "language"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class FollowUp(Base):
    """A planned follow-up or interim evaluation; raised once on its day (`reminded_at`)."""

    __tablename__ = "follow_ups"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    due: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(24))  # follow_up | interim_evaluation
    note: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[datetime | None] = mapped_column(Timestamp)
    reminded_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    subject: Mapped[str | None] = mapped_column(String(500))
    reply_to: Mapped[str | None] = mapped_column(String(254))
    contact_email: Mapped[str | None] = mapped_column(String(254))  # given in a chat, unverified
    last_seq: Mapped[int] = mapped_column(Integer, default=0)  # the newest message's seq
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ended_by: Mapped[str | None] = mapped_column(String(16))  # resident | counsellor
    receipt_sent_at: Mapped[datetime | None] = mapped_column(Timestamp)  # the automatic one
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


OPEN = text("status = 'open'")
QUEUE_RANK = ("(CASE WHEN status = 'open' THEN 0 ELSE 3 END"
              " + CASE urgency WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 ELSE 2 END)")


class Contact(Base):
    """The triage item: one inbound contact, whatever its channel."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    who_contacted: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[int | None] = mapped_column(Integer)
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    language: Mapped[str | None] = mapped_column(String(8))
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), unique=True)
    routing: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[str] = mapped_column(String(200), default="")
    # A public request whose number a known resident has: linked only when a counsellor
    # confirms (a typed number proves nothing).
    possible_resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    joined_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # first to act
    joined_at: Mapped[datetime | None] = mapped_column(Timestamp)
    received_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # The place in the queue, computed by the database (migration 0019) so one index
    # serves the inbox's order: open before closed, then urgent, high, normal.
    queue_rank: Mapped[int] = mapped_column(SmallInteger, Computed(QUEUE_RANK))

    __table_args__ = (
        Index("ix_contacts_queue", "queue_rank", "updated_at", "id"),
        Index("ix_contacts_open", "area_code", "assignee_id",
              postgresql_where=OPEN, sqlite_where=OPEN),
    )


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("conversation_id", "client_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    direction: Mapped[str] = mapped_column(String(4))
    seq: Mapped[int] = mapped_column(Integer, default=0)  # 1, 2, 3 … in its conversation
    sender: Mapped[str] = mapped_column(String(254))
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(String(100))
    channel_message_id: Mapped[str | None] = mapped_column(String(500), index=True)
    references: Mapped[list[Any]] = mapped_column(default=list)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    delivery_state: Mapped[str | None] = mapped_column(String(16))
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivery_error: Mapped[str | None] = mapped_column(Text)
    secure: Mapped[bool] = mapped_column(Boolean, default=False)  # sent as a portal link
    opened_at: Mapped[datetime | None] = mapped_column(Timestamp)  # read in the portal
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    attachments: Mapped[list[Attachment]] = relationship(lazy="selectin")


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    # Held (a program, a macro document: leads and admins only) or left out ("too large…":
    # no bytes here, the raw mail has them); content_type is sniffed from the bytes.
    quarantine_reason: Mapped[str | None] = mapped_column(Text)


class SecureLink(Base):
    """A secure-message link (turvaposti): `reply` tells a resident of a counsellor's
    answer without its content; `compose` lets an outsider write to the service. Only the
    token's hash is stored; the one-time code likewise."""

    __tablename__ = "secure_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # reply | compose
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8), default="fi")
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    opened_at: Mapped[datetime | None] = mapped_column(Timestamp)
    replied_at: Mapped[datetime | None] = mapped_column(Timestamp)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    wrong_codes: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(Timestamp)


class CallbackRequest(Base):
    """A resident waiting for our call: queued -> claimed -> done | failed | cancelled.

    A no-answer puts it back as queued, not claimable before `not_before`; a claim older
    than the claim timeout counts as queued again (inbox/callbacks.py)."""

    __tablename__ = "callback_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    postal_code: Mapped[str | None] = mapped_column(String(5))
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    reason: Mapped[int | None] = mapped_column(Integer)  # the topic, a reason code
    topic: Mapped[str] = mapped_column(Text, default="")  # the resident's own words
    source: Mapped[str] = mapped_column(String(16), default="form")  # form | missed_call
    window_from: Mapped[datetime | None] = mapped_column(Timestamp)
    window_to: Mapped[datetime | None] = mapped_column(Timestamp)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    not_before: Mapped[datetime | None] = mapped_column(Timestamp)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)


class CallbackAttempt(Base):
    __tablename__ = "callback_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callback_requests.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    result: Mapped[str] = mapped_column(String(16))  # reached | no_answer | wrong_number
    notes: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class CallLog(Base):
    """One phone call: logged by a counsellor, or built from the phone system's events
    (one row per `call_id`, whatever order the events come in)."""

    __tablename__ = "call_logs"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    phone: Mapped[str] = mapped_column(String(20))  # the resident's side
    direction: Mapped[str] = mapped_column(String(8))
    from_number: Mapped[str | None] = mapped_column(String(32))
    to_number: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    cause: Mapped[str | None] = mapped_column(String(32))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))


class TelephonySignature(Base):
    """Signatures of accepted phone-system events, kept past their freshness window so a
    replayed request is refused."""

    __tablename__ = "telephony_signatures"
    id: Mapped[int] = mapped_column(primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), unique=True)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, index=True)


class AccessLog(Base):
    """Who saw or changed which personal data, when, through which view."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    actor: Mapped[str | None] = mapped_column(String(60))  # who, when not staff: "link:12"
    view: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(16), default="read")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # On what basis: the role and the relation (own_area, assigned, pool, lead, admin…).
    basis: Mapped[str | None] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class _Seal:
    """A hash over a run of a log's rows and the seal before it: a changed, removed or
    inserted row breaks every seal from there on (inbox/audit.py)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    first_id: Mapped[int] = mapped_column(Integer)
    last_id: Mapped[int] = mapped_column(Integer, unique=True)
    rows: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class AccessLogSeal(_Seal, Base):
    """The use log's seals."""

    __tablename__ = "access_log_seals"


class DisclosureLog(Base):
    """Luovutusloki: each time a resident's data left the service — to whom, what, and on
    what basis. Kept apart from the use log; append-only in the database (migration 0015)."""

    __tablename__ = "disclosure_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(24))  # partner_mail | secure_message | export…
    recipient: Mapped[str] = mapped_column(String(200))  # a partner, "resident", an office
    basis: Mapped[str] = mapped_column(String(40))  # a code: partner_cooperation…
    detail: Mapped[str] = mapped_column(String(200), default="")  # which record, no content
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class DisclosureLogSeal(_Seal, Base):
    """The disclosure log's seals."""

    __tablename__ = "disclosure_log_seals"


class LogRetentionFloor(Base):
    """The longest retention of the logs ever set: rows younger than it cannot be removed
    (the database's triggers say so, migration 0018); append-only itself."""

    __tablename__ = "log_retention_floor"
    id: Mapped[int] = mapped_column(primary_key=True)
    years: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class LogPrune(Base):
    """Where a log's seal chain was cut by retention: its check starts from this hash."""

    __tablename__ = "log_prunes"
    id: Mapped[int] = mapped_column(primary_key=True)
    log: Mapped[str] = mapped_column(String(16))
    up_to_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class RawInbound(Base):
    """Input exactly as received; written before the sender is acknowledged."""

    __tablename__ = "raw_inbound"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(600), unique=True)
    envelope: Mapped[dict[str, Any]] = mapped_column(default=dict)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), default="stored", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    received_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class ThreadWait(Base):
    """A reply routed before the mail it answers: when that mail arrives (its Message-ID
    hashed to `ref_hash`), it joins this contact's conversation instead of opening anew."""

    __tablename__ = "thread_waits"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref_hash: Mapped[str] = mapped_column(String(64), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class ImapCheckpoint(Base):
    """What an IMAP mailbox has given us: every UID up to `last_uid` under `uidvalidity`
    is stored raw. Advanced in the transaction that stores the raw mail, so never ahead."""

    __tablename__ = "imap_checkpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(1000), unique=True)  # host/user/folder
    uidvalidity: Mapped[int] = mapped_column(BigInteger)  # unsigned 32 bits: not an int4
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class RetentionRun(Base):
    """One run of the retention job (inbox/retention.py): what it removed and which
    residents' retention period has ended. The timer runs it once per Helsinki day."""

    __tablename__ = "retention_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)  # the Helsinki day it ran for
    trigger: Mapped[str] = mapped_column(String(16))  # timer | cli
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    raw_purged: Mapped[int] = mapped_column(Integer, default=0)  # raw mails' bytes dropped
    links_removed: Mapped[int] = mapped_column(Integer, default=0)  # expired portal links
    logs_pruned: Mapped[int] = mapped_column(Integer, default=0)  # log rows past retention
    residents_due: Mapped[list[Any]] = mapped_column(default=list)  # ids, for an admin
