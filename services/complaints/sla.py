"""SLA arithmetic: calendar or business minutes, public holidays, pauses, warnings and due times (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_HOLIDAY_FILES: tuple[Path, ...] = (DATA_DIR / "cn-public-holidays-2026.json",)

HoursMode = Literal["calendar", "business"]
Pause = tuple[datetime, datetime | None]  # (started, ended or None while still paused)
SlaState = Literal["ok", "warning", "breached", "paused", "met", "none"]


@dataclass(frozen=True)
class CalendarYear:
    """One year of a business calendar as stored: its working hours, days off and make-up workdays (调休上班)."""

    year: int
    day_start: time = time(9, 0)
    day_end: time = time(18, 0)
    days_off: frozenset[date] = field(default_factory=frozenset)
    make_up_workdays: frozenset[date] = field(default_factory=frozenset)


@dataclass(frozen=True)
class CalendarDefaults:
    """What a calendar is built on: its code and zone, the working hours of a year without data, and extras."""

    code: str = "CN"
    timezone: str = "Asia/Shanghai"
    day_start: time = time(9, 0)
    day_end: time = time(18, 0)
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days and hours in one time zone, with public holidays and make-up workdays (调休上班).

    ``covered_years`` are the years whose holidays are known; a day of any other year is a working day when it
    is a weekday (never a guessed holiday), and ``uncovered_years`` says so. ``hours_by_year`` holds the working
    hours of the years that have their own; every other year works ``day_start``–``day_end``.
    """

    timezone: str = "Asia/Shanghai"
    day_start: time = time(9, 0)
    day_end: time = time(18, 0)
    weekend: frozenset[int] = frozenset({5, 6})  # Monday is 0
    holidays: frozenset[date] = field(default_factory=frozenset)
    make_up_workdays: frozenset[date] = field(default_factory=frozenset)
    code: str = "CN"
    covered_years: frozenset[int] = field(default_factory=frozenset)
    hours_by_year: Mapping[int, tuple[time, time]] = field(default_factory=dict)

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

    def hours(self, day: date) -> tuple[time, time]:
        """The working hours of the day's year."""
        return self.hours_by_year.get(day.year, (self.day_start, self.day_end))

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working window of a day (aware, in the calendar's zone), or None on a day off."""
        if not self.is_working_day(day):
            return None
        zone = self.zone
        opens, closes = self.hours(day)
        return datetime.combine(day, opens, zone), datetime.combine(day, closes, zone)

    def uncovered_years(self, start: datetime, end: datetime) -> list[int]:
        """The years between two instants (local dates, both included) that have no holiday data."""
        first, last = start.astimezone(self.zone).year, end.astimezone(self.zone).year
        return [y for y in range(min(first, last), max(first, last) + 1) if y not in self.covered_years]

    def ends_on(self, today: date) -> date | None:
        """The last day of known holidays reached from ``today`` without a gap (the last known day before it when
        today's year has no data; None without any data)."""
        if today.year not in self.covered_years:
            earlier = [y for y in self.covered_years if y < today.year]
            return date(max(earlier), 12, 31) if earlier else None
        year = today.year
        while year + 1 in self.covered_years:
            year += 1
        return date(year, 12, 31)

    def days_remaining(self, today: date) -> int:
        """Days of known calendar left after ``today`` (0 when it has ended or there is none)."""
        end = self.ends_on(today)
        return max(0, (end - today).days) if end is not None else 0


def calendar_from_years(
    years: Iterable[CalendarYear], defaults: CalendarDefaults = CalendarDefaults()
) -> BusinessCalendar:
    """A calendar from stored years (the extras of the settings on top)."""
    if defaults.day_end <= defaults.day_start:
        raise ValueError("day_end must be after day_start")
    holidays: set[date] = set(defaults.extra_holidays)
    workdays: set[date] = set(defaults.extra_workdays)
    hours: dict[int, tuple[time, time]] = {}
    covered: set[int] = set()
    for year in years:
        if year.day_end <= year.day_start:
            raise ValueError(f"{year.year}: day_end must be after day_start")
        holidays.update(year.days_off)
        workdays.update(year.make_up_workdays)
        hours[year.year] = (year.day_start, year.day_end)
        covered.add(year.year)
    return BusinessCalendar(
        timezone=defaults.timezone,
        day_start=defaults.day_start,
        day_end=defaults.day_end,
        holidays=frozenset(holidays),
        make_up_workdays=frozenset(workdays),
        code=defaults.code,
        covered_years=frozenset(covered),
        hours_by_year=MappingProxyType(hours),
    )


def read_holiday_file(path: Path | str, *, day_start: time = time(9, 0), day_end: time = time(18, 0)) -> CalendarYear:
    """One year of a holiday file (``year`` and ``holidays`` with ``days_off`` / ``make_up_workdays``)."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    days_off: set[date] = set()
    workdays: set[date] = set()
    for holiday in document.get("holidays", []):
        days_off.update(date.fromisoformat(d) for d in holiday.get("days_off", []))
        workdays.update(date.fromisoformat(d) for d in holiday.get("make_up_workdays", []))
    return CalendarYear(
        year=int(document["year"]),
        day_start=day_start,
        day_end=day_end,
        days_off=frozenset(days_off),
        make_up_workdays=frozenset(workdays),
    )


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
    defaults = CalendarDefaults(
        timezone=timezone,
        day_start=day_start,
        day_end=day_end,
        extra_holidays=frozenset(extra_holidays),
        extra_workdays=frozenset(extra_workdays),
    )
    years = [read_holiday_file(path, day_start=day_start, day_end=day_end) for path in files]
    return calendar_from_years(years, defaults)


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


@dataclass(frozen=True)
class Targets:
    """A policy's targets in minutes (first response, between customer updates, resolution) and how they count."""

    first_response_minutes: float
    update_interval_minutes: float
    resolution_minutes: float
    mode: HoursMode = "calendar"
    warning_ratio: float = 0.75


@dataclass(frozen=True)
class Deadlines:
    """The due and warning times of a complaint's three timers (no customer-update timer before it runs)."""

    first_response: Deadline
    resolution: Deadline
    customer_update: Deadline | None


def _after(pauses: Sequence[Pause], moment: datetime) -> list[Pause]:
    return [p for p in pauses if p[1] is None or p[1] > moment]


def deadlines(
    targets: Targets,
    *,
    opened_at: datetime,
    resolution_started_at: datetime,
    update_since: datetime | None,
    calendar: BusinessCalendar,
    pauses: Sequence[Pause] = (),
) -> Deadlines:
    """Every due and warning time of a complaint: first response from ``opened_at``, resolution from
    ``resolution_started_at``, the next customer update ``update_interval`` after ``update_since``; each warns after
    ``warning_ratio`` of its target."""
    ratio, mode = targets.warning_ratio, targets.mode
    first = deadline(
        opened_at, targets.first_response_minutes, warning_ratio=ratio, mode=mode, calendar=calendar, pauses=pauses
    )
    resolution = deadline(
        resolution_started_at,
        targets.resolution_minutes,
        warning_ratio=ratio,
        mode=mode,
        calendar=calendar,
        pauses=_after(pauses, resolution_started_at),
    )
    update = None
    if update_since is not None:
        update = deadline(
            update_since,
            targets.update_interval_minutes,
            warning_ratio=ratio,
            mode=mode,
            calendar=calendar,
            pauses=_after(pauses, update_since),
        )
    return Deadlines(first_response=first, resolution=resolution, customer_update=update)


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
