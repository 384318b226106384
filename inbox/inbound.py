"""What a channel hands to the router: one inbound contact, channel-neutral."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    data: bytes
    quarantine_reason: str | None = None  # held: shown, downloadable by leads only
    size: int | None = None  # when `data` was left out (too large): the part's real size


@dataclass(frozen=True)
class Inbound:
    """Sender identifiers, content and thread hints of one inbound contact.

    `idempotency_key` makes redelivery harmless; `thread_ids` (Message-IDs) and
    `conversation_id` (a resumed chat) let the router append instead of opening anew.
    """

    channel: str
    idempotency_key: str
    text: str
    kind: str = "message"  # message | callback | call
    # How far its identifiers may link it to a known resident (router/identify.py):
    # link (mail, chat) | suggest (a public form: a number typed proves nothing) |
    # staff (a call a counsellor logs: only residents of their areas, never from notes) |
    # network (caller ID from the phone system)
    trust: str = "link"
    handled_by: int | None = None  # staff who took it already (a logged call)
    resident_id: int | None = None  # the resident that staff member chose (a logged call)
    sender_email: str | None = None
    sender_phone: str | None = None
    sender_name: str | None = None
    chat_token_hash: str | None = None
    contact_email: str | None = None  # an address typed into a chat: shown, never matched
    topic: int | None = None  # a reason code the resident chose
    no_fixed_address: bool = False  # "no fixed address / outside Helsinki": city-wide
    partner_verified: bool | None = None  # for a partner's domain: proven (TLS+DKIM, AR)?
    partner_evidence: str | None = None
    auto_reply: bool = False  # RFC 3834: kept on its thread, reopens nothing, never answered
    postal_code: str | None = None
    language: str | None = None
    subject: str | None = None
    html: str | None = None
    attachments: tuple[InboundAttachment, ...] = ()
    thread_ids: tuple[str, ...] = ()
    conversation_id: int | None = None
    channel_message_id: str | None = None
    client_id: str | None = None
    raw_id: int | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
