"""SLA arithmetic: calendar or business minutes, public holidays, pauses, warnings and due times (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_HOLIDAY_FILES: tuple[Path, ...] = (DATA_DIR / "cn-public-holidays-2026.json",)

HoursMode = Literal["calendar", "business"]
Pause = tuple[datetime, datetime | None]  # (started, ended or None while still paused)
SlaState = Literal["ok", "warning", "breached", "paused", "met", "none"]


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days and hours in one time zone, with public holidays and make-up workdays (调休上班)."""

    timezone: str = "Asia/Shanghai"
    day_start: time = time(9, 0)
    day_end: time = time(18, 0)
    weekend: frozenset[int] = frozenset({5, 6})  # Monday is 0
    holidays: frozenset[date] = field(default_factory=frozenset)
    make_up_workdays: frozenset[date] = field(default_factory=frozenset)

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day (make-up workdays win over weekends, holidays over weekdays)."""
        if day in self.make_up_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() not in self.weekend

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working window of a day (aware, in the calendar's zone), or None on a day off."""
        if not self.is_working_day(day):
            return None
        zone = self.zone
        return datetime.combine(day, self.day_start, zone), datetime.combine(day, self.day_end, zone)


def load_calendar(
    files: Iterable[Path | str] = DEFAULT_HOLIDAY_FILES,
    *,
    timezone: str = "Asia/Shanghai",
    day_start: time = time(9, 0),
    day_end: time = time(18, 0),
    extra_holidays: Iterable[date] = (),
    extra_workdays: Iterable[date] = (),
) -> BusinessCalendar:
    """Build a calendar from holiday files (``days_off`` / ``make_up_workdays`` per holiday) plus extras."""
    holidays: set[date] = set(extra_holidays)
    workdays: set[date] = set(extra_workdays)
    for path in files:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        for holiday in document.get("holidays", []):
            holidays.update(date.fromisoformat(d) for d in holiday.get("days_off", []))
            workdays.update(date.fromisoformat(d) for d in holiday.get("make_up_workdays", []))
    if day_end <= day_start:
        raise ValueError("day_end must be after day_start")
    return BusinessCalendar(
        timezone=timezone,
        day_start=day_start,
        day_end=day_end,
        holidays=frozenset(holidays),
        make_up_workdays=frozenset(workdays),
    )


_MAX_DAYS = 3660  # a guard against endless walks (ten years of days off)


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def add_business_minutes(start: datetime, minutes: float, calendar: BusinessCalendar) -> datetime:
    """The moment ``minutes`` working minutes after ``start`` (UTC)."""
    remaining = timedelta(minutes=minutes)
    local = start.astimezone(calendar.zone)
    day = local.date()
    for _ in range(_MAX_DAYS):
        window = calendar.window(day)
        if window is not None:
            opens, closes = window
            begin = max(local, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(UTC)
                remaining -= available
        day += timedelta(days=1)
    raise ValueError("no working time found within ten years")


def business_minutes_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> float:
    """Working minutes in ``[start, end)`` (0 if end is not after start)."""
    if end <= start:
        return 0.0
    zone = calendar.zone
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    total = timedelta()
    while day <= last:
        window = calendar.window(day)
        if window is not None:
            lo, hi = max(start, window[0]), min(end, window[1])
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return _minutes(total)


def add_minutes(start: datetime, minutes: float, mode: HoursMode, calendar: BusinessCalendar) -> datetime:
    """``start`` plus ``minutes`` in calendar or business time."""
    if mode == "business":
        return add_business_minutes(start, minutes, calendar)
    return (start + timedelta(minutes=minutes)).astimezone(UTC)


def minutes_between(start: datetime, end: datetime, mode: HoursMode, calendar: BusinessCalendar) -> float:
    """Minutes in ``[start, end)`` in calendar or business time."""
    if mode == "business":
        return business_minutes_between(start, end, calendar)
    return max(0.0, _minutes(end - start))


def _ordered(pauses: Sequence[Pause]) -> list[Pause]:
    return sorted(pauses, key=lambda p: p[0])


def due_at(
    start: datetime, minutes: float, *, mode: HoursMode, calendar: BusinessCalendar, pauses: Sequence[Pause] = ()
) -> datetime | None:
    """When ``minutes`` of running SLA time will have passed since ``start``; None while a pause is open.

    Paused intervals do not count; a pause still open means the clock is stopped and no due time exists yet.
    """
    cursor = start
    remaining = float(minutes)
    for paused_from, paused_until in _ordered(pauses):
        if paused_until is not None and paused_until <= cursor:
            continue
        if paused_from > cursor:
            candidate = add_minutes(cursor, remaining, mode, calendar)
            if candidate <= paused_from:
                return candidate
            remaining -= minutes_between(cursor, paused_from, mode, calendar)
        if paused_until is None:
            return None
        cursor = max(cursor, paused_until)
    return add_minutes(cursor, remaining, mode, calendar)


def running_minutes(
    start: datetime, end: datetime, *, mode: HoursMode, calendar: BusinessCalendar, pauses: Sequence[Pause] = ()
) -> float:
    """SLA minutes that ran between ``start`` and ``end`` (paused time excluded)."""
    total = minutes_between(start, end, mode, calendar)
    for paused_from, paused_until in pauses:
        lo = max(start, paused_from)
        hi = min(end, paused_until or end)
        if hi > lo:
            total -= minutes_between(lo, hi, mode, calendar)
    return max(0.0, total)


@dataclass(frozen=True)
class Deadline:
    """One SLA target: when it warns and when it is breached (both None while paused)."""

    due_at: datetime | None
    warning_at: datetime | None


def deadline(
    start: datetime,
    minutes: float,
    *,
    warning_ratio: float,
    mode: HoursMode,
    calendar: BusinessCalendar,
    pauses: Sequence[Pause] = (),
) -> Deadline:
    """The due time and the warning time (after ``warning_ratio`` of the target has run)."""
    return Deadline(
        due_at=due_at(start, minutes, mode=mode, calendar=calendar, pauses=pauses),
        warning_at=due_at(start, minutes * warning_ratio, mode=mode, calendar=calendar, pauses=pauses),
    )


def sla_state(
    *,
    now: datetime,
    due: datetime | None,
    warning: datetime | None,
    met_at: datetime | None = None,
    breached: bool = False,
    paused: bool = False,
) -> SlaState:
    """The state of one timer at ``now``: met, breached, paused, warning, ok (or none without a target)."""
    if met_at is not None:
        return "breached" if breached or (due is not None and met_at > due) else "met"
    if breached or (due is not None and now >= due):
        return "breached"
    if paused:
        return "paused"
    if due is None:
        return "none"
    if warning is not None and now >= warning:
        return "warning"
    return "ok"
