"""The business calendar as data: seeded from the shipped files, loaded into the rules, listed, read and upserted.

Never invented: a year without stored data counts its weekdays as working days, and every list that depends on
it says so (``calendar_warnings``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints import sla
from services.complaints.calendars.models import CalendarChange, CalendarYearRow
from services.complaints.calendars.schemas import (
    CalendarChangeRead,
    CalendarList,
    CalendarSummary,
    CalendarWarning,
    CalendarYearBody,
    CalendarYearRead,
    CalendarYearSummary,
    CalendarYearUpdated,
    HolidayRead,
)
from services.complaints.intake.timers import apply_calendar_change
from services.complaints.models import audit_log
from services.complaints.rules import Rules
from shared.audit import record_audit
from shared.auth import Principal
from shared.bus import Publisher
from shared.clock import business_date
from shared.errors import Unprocessable

SYSTEM = "system"


def year_data(row: CalendarYearRow) -> sla.CalendarYear:
    """A stored year as the SLA arithmetic reads it."""
    days_off = {date.fromisoformat(d) for h in row.holidays for d in h.get("days_off", [])}
    workdays = {date.fromisoformat(d) for h in row.holidays for d in h.get("make_up_workdays", [])}
    return sla.CalendarYear(
        year=row.year,
        day_start=row.day_start,
        day_end=row.day_end,
        days_off=frozenset(days_off),
        make_up_workdays=frozenset(workdays),
    )


def check_year(body: CalendarYearBody, year: int) -> None:
    """Refuse (422 naming the field) hours that end before they start and dates outside the year or contradictory."""
    problems: list[dict[str, str]] = []
    if body.day_end <= body.day_start:
        problems.append({"field": "day_end", "message": "must be after day_start"})
    days_off = {d for h in body.holidays for d in h.days_off}
    for index, holiday in enumerate(body.holidays):
        where = f"holidays.{index}"
        for name, days in (("days_off", holiday.days_off), ("make_up_workdays", holiday.make_up_workdays)):
            outside = sorted(d.isoformat() for d in days if d.year != year)
            if outside:
                problems.append({"field": f"{where}.{name}", "message": f"not in {year}: {', '.join(outside)}"})
        weekdays = sorted(d.isoformat() for d in holiday.make_up_workdays if d.weekday() < 5)
        if weekdays:
            problems.append(
                {"field": f"{where}.make_up_workdays", "message": f"not a weekend day: {', '.join(weekdays)}"}
            )
        both = sorted(d.isoformat() for d in holiday.make_up_workdays if d in days_off)
        if both:
            problems.append({"field": f"{where}.make_up_workdays", "message": f"also a day off: {', '.join(both)}"})
    if problems:
        fields = ", ".join(dict.fromkeys(p["field"] for p in problems))
        detail = f"Invalid calendar year {year} in {fields}: " + "; ".join(
            f"{p['field']}: {p['message']}" for p in problems
        )
        raise Unprocessable(detail, field=problems[0]["field"], errors=problems)


def _holidays_json(body: CalendarYearBody) -> list[dict[str, Any]]:
    return [
        {
            "name_zh": h.name_zh,
            "name_en": h.name_en,
            "days_off": sorted({d.isoformat() for d in h.days_off}),
            "make_up_workdays": sorted({d.isoformat() for d in h.make_up_workdays}),
        }
        for h in body.holidays
    ]


def _snapshot(row: CalendarYearRow) -> dict[str, Any]:
    return {
        "day_start": row.day_start.isoformat(timespec="minutes"),
        "day_end": row.day_end.isoformat(timespec="minutes"),
        "holidays": row.holidays,
        "source": row.source,
        "version": row.version,
    }


def _write(
    session: AsyncSession,
    row: CalendarYearRow | None,
    *,
    code: str,
    year: int,
    body: CalendarYearBody,
    by: str,
    origin: str,
    now: datetime,
    request_id: str | None = None,
) -> CalendarYearRow:
    """Store the whole year (a new version) and its audit entry."""
    before = _snapshot(row) if row is not None else None
    if row is None:
        row = CalendarYearRow(calendar_code=code, year=year, version=0)
        session.add(row)
    row.day_start, row.day_end = body.day_start, body.day_end
    row.holidays = _holidays_json(body)
    row.source = body.source
    row.origin = origin
    row.version = (row.version or 0) + 1
    row.updated_at, row.updated_by = now, by
    session.add(
        CalendarChange(
            calendar_code=code,
            year=year,
            version=row.version,
            changed_at=now,
            changed_by=by,
            origin=origin,
            request_id=request_id,
            before=before,
            after=_snapshot(row),
        )
    )
    return row


def seed_body(path: Path, defaults: sla.CalendarDefaults) -> tuple[str, int, CalendarYearBody]:
    """A shipped holiday file as a calendar year (its code, year and document)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    body = CalendarYearBody.model_validate(
        {
            "day_start": defaults.day_start,
            "day_end": defaults.day_end,
            "holidays": [
                {k: h[k] for k in ("name_zh", "name_en", "days_off", "make_up_workdays") if k in h}
                for h in document.get("holidays", [])
            ],
            "source": document.get("source"),
        }
    )
    return str(document.get("calendar") or defaults.code), int(document["year"]), body


async def seed_calendars(
    session: AsyncSession, *, files: Iterable[Path], defaults: sla.CalendarDefaults, now: datetime
) -> list[tuple[str, int]]:
    """Insert the years of the seed files that are not stored yet (an edited or existing year is never touched)."""
    seeded: list[tuple[str, int]] = []
    for path in files:
        code, year, body = seed_body(path, defaults)
        check_year(body, year)
        if await session.get(CalendarYearRow, (code, year)) is not None:
            continue
        _write(session, None, code=code, year=year, body=body, by=SYSTEM, origin="seed", now=now)
        seeded.append((code, year))
    await session.flush()
    return seeded


async def _rows(session: AsyncSession, code: str | None = None) -> Sequence[CalendarYearRow]:
    query = select(CalendarYearRow).order_by(CalendarYearRow.calendar_code, CalendarYearRow.year)
    if code is not None:
        query = query.where(CalendarYearRow.calendar_code == code)
    return (await session.execute(query)).scalars().all()


async def stored_calendar(session: AsyncSession, *, defaults: sla.CalendarDefaults) -> sla.BusinessCalendar:
    """The calendar ``defaults.code`` as stored (its years, with the settings' extras on top)."""
    return sla.calendar_from_years([year_data(r) for r in await _rows(session, defaults.code)], defaults)


async def load_rules_calendar(session: AsyncSession, *, rules: Rules) -> bool:
    """Put the stored calendar into the rules (at start, after an upsert, on each SLA pass); True if it changed."""
    calendar = await stored_calendar(session, defaults=rules.calendar_defaults)
    if calendar == rules.calendar:
        return False
    rules.use_calendar(calendar)
    return True


def _message(kind: str, code: str, year: int, ends_on: date | None, days: int) -> tuple[str, str]:
    put = f"PUT /complaints/calendars/{code}/{year}"
    if kind == "calendar_ends_soon":
        return (
            f"The {code} business calendar ends on {ends_on} ({days} days left): {year} has no holiday data, so "
            f"business-hours SLAs in {year} will count every weekday as a working day. Add {year} with {put}.",
            f"{code} 工作日历只到 {ends_on}（剩余 {days} 天）：{year} 年还没有节假日数据，届时按工作时间计算的 SLA "
            f"会把周一至周五都算作工作日。请通过 {put} 录入 {year} 年的安排。",
        )
    return (
        f"The {code} business calendar has no data for {year}: business-hours SLAs in {year} count every weekday "
        f"(Monday–Friday) as a working day, without public holidays or make-up workdays. Add {year} with {put}.",
        f"{code} 工作日历没有 {year} 年的数据：该年按工作时间计算的 SLA 把周一至周五都算作工作日，"
        f"不含法定节假日和调休。请通过 {put} 录入 {year} 年的安排。",
    )


def calendar_warnings(calendar: sla.BusinessCalendar, *, today: date, years: Iterable[int]) -> list[CalendarWarning]:
    """A warning for each needed year without data: ``calendar_ends_soon`` when it follows the known years that
    reach from today without a gap, ``calendar_year_missing`` otherwise (bilingual)."""
    ends_on = calendar.ends_on(today)
    days = calendar.days_remaining(today)
    warnings: list[CalendarWarning] = []
    for year in sorted(set(years) - calendar.covered_years):
        soon = ends_on is not None and ends_on >= today and year == ends_on.year + 1
        kind = "calendar_ends_soon" if soon else "calendar_year_missing"
        message_en, message_zh = _message(kind, calendar.code, year, ends_on, days)
        warnings.append(
            CalendarWarning(
                kind=kind,
                calendar=calendar.code,
                year=year,
                ends_on=ends_on,
                days_remaining=days if ends_on is not None else None,
                message_en=message_en,
                message_zh=message_zh,
            )
        )
    return warnings


def horizon_years(today: date, days: int) -> range:
    """The years from today to ``days`` ahead (what the SLA of a complaint opened today may reach)."""
    return range(today.year, (today + timedelta(days=days)).year + 1)


def rules_warnings(rules: Rules, *, now: datetime) -> list[CalendarWarning]:
    """The warnings about the SLA's calendar today (business date in the company's zone)."""
    today = business_date(now, rules.zone)
    return calendar_warnings(rules.calendar, today=today, years=horizon_years(today, rules.calendar_warning_days))


def _plain_defaults(rules: Rules, code: str) -> sla.CalendarDefaults:
    """The defaults of another calendar than the SLA's (same zone and hours, without the settings' extras)."""
    return replace(rules.calendar_defaults, code=code, extra_holidays=frozenset(), extra_workdays=frozenset())


def _summary(row: CalendarYearRow) -> CalendarYearSummary:
    data = year_data(row)
    return CalendarYearSummary(
        year=row.year,
        holidays=len(row.holidays),
        days_off=len(data.days_off),
        make_up_workdays=len(data.make_up_workdays),
        version=row.version,
        origin=row.origin,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


async def list_calendars(session: AsyncSession, *, rules: Rules, now: datetime) -> CalendarList:
    """Every stored calendar with its years, where its data ends, and the warnings about the SLA's calendar."""
    today = business_date(now, rules.zone)
    by_code: dict[str, list[CalendarYearRow]] = {rules.calendar.code: []}
    for row in await _rows(session):
        by_code.setdefault(row.calendar_code, []).append(row)
    calendars = []
    for code, rows in sorted(by_code.items()):
        calendar = sla.calendar_from_years([year_data(r) for r in rows], _plain_defaults(rules, code))
        calendars.append(
            CalendarSummary(
                code=code,
                used_for_sla=code == rules.calendar.code,
                years=[_summary(r) for r in rows],
                ends_on=calendar.ends_on(today),
                days_remaining=calendar.days_remaining(today),
            )
        )
    return CalendarList(
        sla_calendar=rules.calendar.code,
        today=today,
        calendars=calendars,
        calendar_warnings=rules_warnings(rules, now=now),
    )


async def read_year(session: AsyncSession, *, row: CalendarYearRow) -> CalendarYearRead:
    """A stored year with its audit trail (newest change first)."""
    changes = (
        await session.execute(
            select(CalendarChange)
            .where(CalendarChange.calendar_code == row.calendar_code, CalendarChange.year == row.year)
            .order_by(CalendarChange.id.desc())
        )
    ).scalars()
    data = year_data(row)
    return CalendarYearRead(
        code=row.calendar_code,
        year=row.year,
        day_start=row.day_start,
        day_end=row.day_end,
        holidays=[HolidayRead.model_validate(h) for h in row.holidays],
        days_off=len(data.days_off),
        make_up_workdays=len(data.make_up_workdays),
        source=row.source,
        origin=row.origin,
        version=row.version,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        history=[CalendarChangeRead.model_validate(c) for c in changes],
    )


async def upsert_year(
    session: AsyncSession,
    *,
    row: CalendarYearRow | None,
    code: str,
    year: int,
    body: CalendarYearBody,
    actor: Principal,
    now: datetime,
    rules: Rules,
    publisher: Publisher,
    request_id: str | None = None,
) -> CalendarYearUpdated:
    """Store a whole year (audited); for the SLA's calendar, the rules take it at once and the timers of open
    business-hours complaints are recomputed (as a policy change recomputes the ones it governs)."""
    check_year(body, year)
    before = _snapshot(row) if row is not None else None
    row = _write(
        session, row, code=code, year=year, body=body, by=actor.user_id, origin="api", now=now, request_id=request_id
    )
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="business_calendar.year_saved",
        object_type="business_calendar",
        object_id=f"{code}/{year}",
        before=before,
        after=_snapshot(row),
        at=now,
        request_id=request_id,
    )
    recomputed = 0
    if code == rules.calendar.code:
        await load_rules_calendar(session, rules=rules)
        recomputed = await apply_calendar_change(session, now=now, rules=rules, publisher=publisher)
        calendar = rules.calendar
    else:
        calendar = await stored_calendar(session, defaults=_plain_defaults(rules, code))
    today = business_date(now, rules.zone)
    warnings = calendar_warnings(calendar, today=today, years=horizon_years(today, rules.calendar_warning_days))
    return CalendarYearUpdated(
        year=await read_year(session, row=row), recomputed=recomputed, calendar_warnings=warnings
    )
