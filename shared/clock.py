"""An injectable clock so timers can be tested without sleeping."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Anything that tells the current time (timezone-aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to a moment."""
        self._now = moment

    def advance(self, delta: timedelta) -> None:
        """Move forward by a duration."""
        self._now += delta


def ensure_aware(moment: datetime) -> datetime:
    """Treat naive datetimes (as SQLite returns them) as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


DEFAULT_BUSINESS_ZONE = "Asia/Shanghai"


def business_zone(name: str = DEFAULT_BUSINESS_ZONE) -> ZoneInfo:
    """The company's zone (``KAM_TIMEZONE``): what "today", due dates, periods and aging are counted in."""
    return ZoneInfo(name)


def business_date(moment: datetime, zone: ZoneInfo) -> date:
    """The company's calendar date of an instant: 2026-03-01T17:30Z is 2026-03-02 in Asia/Shanghai."""
    return ensure_aware(moment).astimezone(zone).date()


def start_of_business_day(day: date, zone: ZoneInfo) -> datetime:
    """The instant (UTC) a business date begins in the company's zone."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
