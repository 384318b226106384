"""The router: thread follow-ups onto their conversation, or run the rules for a new contact."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.orm import Session

from inbox.contacts import (
    Recorded,
    append_inbound,
    append_inbounds,
    find_duplicate,
    find_duplicates,
    record_new_contact,
)
from inbox.identity import redact_identity_codes, redacted
from inbox.inbound import Inbound
from inbox.lookups import (
    contact_for_conversation,
    contact_for_thread,
    conversations_under_way,
    sender_belongs_to,
)
from inbox.reference_cache import ReferenceCache
from inbox.threads import contacts_awaiting, lock_routing, parent_arrived, wait_for_parents
from router.assign import assign
from router.case import link_or_open_case
from router.classify import classify
from router.context import Context, Rule
from router.identify import identify
from router.locate import locate

DEFAULT_RULES: tuple[Rule, ...] = (identify, locate, classify, link_or_open_case, assign)


class Router:
    def __init__(self, hetu_key: bytes, rules: Sequence[Rule] = DEFAULT_RULES,
                 reference: ReferenceCache | None = None):
        self.hetu_key = hetu_key
        self.rules = tuple(rules)
        self.reference = reference or ReferenceCache()

    def route(self, session: Session, inbound: Inbound) -> Recorded:
        """Store the inbound where it belongs; a redelivery returns what was stored before."""
        duplicate = find_duplicate(session, inbound)
        if duplicate is not None:
            return duplicate
        ctx = Context(session, inbound, self.hetu_key, inbound.text, self.reference)
        stored = _as_stored(inbound)
        lock_routing(session, () if inbound.conversation_id is not None  # mail's threads
                     else (*inbound.thread_ids, inbound.channel_message_id or ""),
                     inbound.sender_email, inbound.sender_phone)
        existing = self._thread_of(session, inbound)
        if existing is not None and (inbound.conversation_id is not None
                                     or sender_belongs_to(session, existing,
                                                          inbound.sender_email)):
            return append_inbound(session, existing, stored)
        if existing is not None:  # a stranger quoting someone else's thread: a contact anew
            ctx.record("identify", "quoted_other_thread")
        elif (answered := self._reply_waiting(session, inbound)) is not None:
            return append_inbound(session, answered, stored)
        for rule in self.rules:
            rule(ctx)
        placement = ctx.placement
        located = [s for s in placement.steps if s["rule"] == "locate"]
        placement.summary = {"area": placement.area_code, "by": located[-1] if located else None}
        recorded = record_new_contact(session, stored, placement)
        if existing is None and inbound.conversation_id is None and inbound.thread_ids:
            wait_for_parents(session, recorded.contact_id, inbound.thread_ids)
        return recorded

    def route_follow_ups(self, session: Session, inbounds: Sequence[Inbound]
                         ) -> list[Recorded | None]:
        """Residents' messages into chats under way, many in one unit of work (the chat's
        group commit), each as `route` would store it: a resend returns what was stored
        before, a chat that has ended takes nothing (None). A chat has no sender address
        to serialise on: its conversation's row lock (next_seqs) orders its messages."""
        results = find_duplicates(session, inbounds)
        under_way = conversations_under_way(session, {i.conversation_id for i in inbounds
                                                      if i.conversation_id is not None})
        fresh: list[tuple[int, Inbound]] = []
        places: dict[tuple[int | None, str | None], int] = {}  # key -> its first in batch
        for n, inbound in enumerate(inbounds):
            key = (inbound.conversation_id, inbound.client_id)
            if (results[n] is not None or inbound.conversation_id not in under_way
                    or key in places):  # stored before, ended, or a resend in this batch
                continue
            contact_id = under_way[inbound.conversation_id]
            if contact_id is None:  # nothing to append to: routed as a new contact
                results[n] = self.route(session, inbound)
                continue
            places[key] = n
            fresh.append((contact_id, _as_stored(inbound)))
        for n, recorded in zip(places.values(), append_inbounds(session, fresh), strict=True):
            results[n] = recorded
        for n, inbound in enumerate(inbounds):  # the resends within the batch
            first = places.get((inbound.conversation_id, inbound.client_id))
            if first is not None and first != n and (done := results[first]) is not None:
                results[n] = replace(done, created=False)
        return results

    @staticmethod
    def _reply_waiting(session: Session, inbound: Inbound) -> int | None:
        """The resident's own reply to this mail, routed before it (inbox/threads.py)."""
        if inbound.conversation_id is not None or not inbound.channel_message_id:
            return None
        for contact_id in contacts_awaiting(session, inbound.channel_message_id):
            if sender_belongs_to(session, contact_id, inbound.sender_email):
                parent_arrived(session, inbound.channel_message_id)
                return contact_id
        return None

    @staticmethod
    def _thread_of(session: Session, inbound: Inbound) -> int | None:
        if inbound.conversation_id is not None:
            return contact_for_conversation(session, inbound.conversation_id)
        return contact_for_thread(session, reversed(inbound.thread_ids))


def _as_stored(inbound: Inbound) -> Inbound:
    """What people read never holds an identity code."""
    return replace(
        inbound,
        text=redact_identity_codes(inbound.text),
        html=redacted(inbound.html),
        subject=redacted(inbound.subject),
        sender_name=redacted(inbound.sender_name),
        attachments=tuple(replace(a, filename=redact_identity_codes(a.filename))
                          for a in inbound.attachments),
    )
