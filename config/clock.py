"""The service's clock: the real time, or one a test sets (opening hours, queue times)."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def now(self) -> datetime:
        return self.fixed or datetime.now(UTC)

    def set(self, moment: datetime | None) -> None:
        """Stop the clock at `moment` (aware), or None to follow real time again."""
        if moment is not None and moment.tzinfo is None:
            raise ValueError("the clock takes an aware datetime")
        self.fixed = moment
