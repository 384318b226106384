"""Opening hours of the chat (and callbacks): weekly hours per area, closed on holidays.

Times are Europe/Helsinki wall-clock times; callers pass aware datetimes (any zone) and get
aware Helsinki datetimes back, so RFC 3339 output carries the right offset across DST.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

HELSINKI = ZoneInfo("Europe/Helsinki")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Span = tuple[time, time]
Day = TypeVar("Day", date, datetime)


def add_years(day: Day, years: int) -> Day:
    """The same day `years` later (or earlier); 29 February falls on the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def parse_spans(value: str) -> list[Span]:
    """'09:00-15:00' or '08:30-11:00, 12:00-16:00'; '' or 'closed' is a closed day."""
    spans: list[Span] = []
    text = value.strip().lower()
    if text in ("", "closed"):
        return spans
    for part in text.split(","):
        start, sep, end = part.strip().partition("-")
        if not sep:
            raise ValueError(f"opening hours {part!r}: expected HH:MM-HH:MM")
        opens = time.fromisoformat(start.strip())
        closes = time.max if end.strip() == "24:00" else time.fromisoformat(end.strip())
        if closes <= opens:
            raise ValueError(f"opening hours {part!r}: closes before it opens")
        spans.append((opens, closes))
    return sorted(spans)


@dataclass(frozen=True)
class OpeningHours:
    weekly: Mapping[int, list[Span]]  # weekday (0 = Monday) -> spans
    holidays: frozenset[date] = frozenset()

    def _spans(self, day: date) -> list[Span]:
        return [] if day in self.holidays else list(self.weekly.get(day.weekday(), []))

    def open_span(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The span open at `now`, as Helsinki datetimes, or None when closed."""
        local = now.astimezone(HELSINKI)
        for opens, closes in self._spans(local.date()):
            if opens <= local.time() < closes:
                return (_at(local.date(), opens), _at(local.date(), closes))
        return None

    def is_open(self, now: datetime) -> bool:
        return self.open_span(now) is not None

    def closes_at(self, now: datetime) -> datetime | None:
        span = self.open_span(now)
        return span[1] if span else None

    def opens_at(self, now: datetime, horizon_days: int = 60) -> datetime | None:
        """The next opening at or after `now` (now itself when open); None if never soon."""
        if self.is_open(now):
            return now.astimezone(HELSINKI)
        local = now.astimezone(HELSINKI)
        for offset in range(horizon_days + 1):
            day = local.date() + timedelta(days=offset)
            for opens, _closes in self._spans(day):
                start = _at(day, opens)
                if start > local:
                    return start
        return None


def _at(day: date, moment: time) -> datetime:
    if moment == time.max:
        return datetime.combine(day + timedelta(days=1), time(0), HELSINKI)
    return datetime.combine(day, moment, HELSINKI)


@dataclass(frozen=True)
class ServiceHours:
    """The default hours, and those of areas that keep their own."""

    default: OpeningHours
    areas: Mapping[str, OpeningHours] = field(default_factory=dict)

    def of(self, area_code: str | None) -> OpeningHours:
        return self.areas.get(area_code or "", self.default)


def weekly(spec: Mapping[str, str], base: Mapping[int, list[Span]] | None = None
           ) -> dict[int, list[Span]]:
    """Day names (mon … sun) to spans, over `base` (days not named keep the base's hours)."""
    result = {day: list(spans) for day, spans in (base or {}).items()}
    for name, value in spec.items():
        if name not in DAYS:
            raise ValueError(f"opening hours: unknown day {name!r} (use {', '.join(DAYS)})")
        result[DAYS.index(name)] = parse_spans(value)
    return result
