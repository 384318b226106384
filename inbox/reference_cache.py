"""The reference data the router reads for every contact (which area a postal code is in,
whether a mail's domain is a partner's), read from the database at most once a minute.

Areas and partners change only when a start-up applies new configuration
(`inbox/reference.py`), so a process that read them a minute ago still has them; reading
them again per mail was two of a mail's round trips to the database. Only codes and
domains are kept: a partner's row (its id) is read when a mail comes from its domain, so
a database whose rows were made again never meets an id this process remembers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.lookups import partner_by_domain, postal_areas
from inbox.models import Partner

FRESH_S = 60.0


@dataclass(frozen=True)
class _Snapshot:
    read_at: float
    postal: dict[str, tuple[str, str, str]]  # postal code -> (area code, area name, district)
    partner_domains: frozenset[str]


class ReferenceCache:
    """One per process (the composition root makes it); safe to share between threads."""

    def __init__(self, fresh_s: float = FRESH_S,
                 clock: Callable[[], float] = time.monotonic):
        self.fresh_s, self.clock = fresh_s, clock
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    def postal_areas(self, session: Session, codes: Iterable[str]
                     ) -> dict[str, tuple[str, str, str]]:
        """postal code -> (area code, area name, district) for the codes we know."""
        postal = self._current(session).postal
        return {code: postal[code] for code in codes if code in postal}

    def partner_by_domain(self, session: Session, domain: str) -> Partner | None:
        """The partner writing from this domain; residents' mail asks the database nothing."""
        if domain.lower() not in self._current(session).partner_domains:
            return None
        return partner_by_domain(session, domain)

    def _current(self, session: Session) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and self.clock() - snapshot.read_at < self.fresh_s:
            return snapshot
        with self._lock:  # one thread reads; the others wait for its snapshot
            snapshot = self._snapshot
            if snapshot is None or self.clock() - snapshot.read_at >= self.fresh_s:
                snapshot = _read(session, self.clock())
                # No areas: a database not yet prepared (or emptied): asked again next time.
                self._snapshot = snapshot if snapshot.postal else None
            return snapshot


def _read(session: Session, now: float) -> _Snapshot:
    postal = postal_areas(session)
    domains = frozenset(str(d).lower() for listed in session.scalars(select(Partner.domains))
                        for d in listed or [])
    return _Snapshot(now, postal, domains)
