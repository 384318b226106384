"""Residents' chat messages stored by group commit (inbox/group_commit.py): the messages
that arrive while one commit is under way are routed together in the next, each acked
only after it. With a thousand residents writing, a message's own unit of work (session,
six statements, a commit, two thread hand-offs) was most of what the serve did."""

from __future__ import annotations

from inbox.contacts import Recorded
from inbox.group_commit import GroupCommit
from inbox.inbound import Inbound
from inbox.store import Store
from router.pipeline import Router


class ChatWrites(GroupCommit[Inbound, Recorded | None]):
    what = "chat message"

    def __init__(self, store: Store, router: Router):
        super().__init__()
        self.store = store
        self.router = router

    def commit(self, items: list[Inbound]) -> list[Recorded | None]:
        """Each message where it belongs (None: its chat has ended)."""
        return self.store.run(self.router.route_follow_ups, items)
