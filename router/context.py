"""The state one routing run builds up, rule by rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session

from inbox.contacts import Placement
from inbox.inbound import Inbound
from inbox.models import Resident
from inbox.reference_cache import ReferenceCache

WHO_CLIENT = 1


@dataclass
class Context:
    session: Session
    inbound: Inbound
    hetu_key: bytes
    text: str  # the inbound text as received (only what is stored gets redacted)
    reference: ReferenceCache = field(default_factory=ReferenceCache)  # areas, partners
    placement: Placement = field(
        default_factory=lambda: Placement(who_contacted=WHO_CLIENT, urgency="normal",
                                          steps=[], summary={})
    )
    resident: Resident | None = None
    area_name: str | None = None
    case_counsellor_id: int | None = None

    def record(self, rule: str, code: str, **params: object) -> None:
        """A decision as a code with parameters; readers render it in their language."""
        self.placement.steps.append({"rule": rule, "code": f"{rule}.{code}", "params": params})


class Rule(Protocol):
    __name__: str

    def __call__(self, ctx: Context) -> None: ...
