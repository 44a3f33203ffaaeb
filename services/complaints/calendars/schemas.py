"""Request and response bodies of the business calendar: a year's document, the calendar list, the warnings."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.api import RequestBody

CALENDAR_CODE_PATTERN = r"^[A-Z][A-Z0-9-]{1,19}$"
# A calendar's code in a path: "CN" (the default), or a region such as "CN-HK".
CalendarCodePath = Annotated[str, Path(pattern=CALENDAR_CODE_PATTERN, description="Calendar code, e.g. CN")]
YearPath = Annotated[int, Path(ge=1990, le=2200, description="Calendar year")]
WarningKind = Literal["calendar_ends_soon", "calendar_year_missing"]
Origin = Literal["seed", "api"]


class HolidayBody(RequestBody):
    """One public holiday of the year: its days off (weekends inside it included) and its make-up workdays."""

    name_zh: str = Field(min_length=1, max_length=50, examples=["国庆节"])
    name_en: str = Field(min_length=1, max_length=100, examples=["National Day"])
    days_off: list[date] = Field(min_length=1, max_length=31)
    make_up_workdays: list[date] = Field(
        default_factory=list, max_length=10, description="调休上班: weekend days worked"
    )


class CalendarYearBody(RequestBody):
    """A whole year of a calendar: it replaces what was stored for that year."""

    day_start: time = Field(default=time(9, 0), description="Working hours start (local time of the calendar)")
    day_end: time = Field(default=time(18, 0), description="Working hours end (local time of the calendar)")
    holidays: list[HolidayBody] = Field(default_factory=list, max_length=40)
    source: str | None = Field(default=None, max_length=500, description="Where the dates come from (the notice)")

    @field_validator("day_start", "day_end")
    @classmethod
    def _local_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("must be a local time without an offset (the calendar's zone applies)")
        return value


class HolidayRead(BaseModel):
    """One public holiday of a stored year."""

    name_zh: str
    name_en: str
    days_off: list[date]
    make_up_workdays: list[date]


class CalendarChangeRead(BaseModel):
    """Who changed a calendar year, when, and through what."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    changed_at: datetime
    changed_by: str
    origin: Origin
    request_id: str | None


class CalendarYearRead(BaseModel):
    """One stored year of a calendar with its audit trail."""

    code: str
    year: int
    day_start: time
    day_end: time
    holidays: list[HolidayRead]
    days_off: int
    make_up_workdays: int
    source: str | None
    origin: Origin
    version: int
    updated_at: datetime
    updated_by: str
    history: list[CalendarChangeRead] = Field(default_factory=list)


class CalendarWarning(BaseModel):
    """The calendar ends soon, or a year the SLA needs has no data (its weekdays all count as working days)."""

    kind: WarningKind
    calendar: str
    year: int
    ends_on: date | None
    days_remaining: int | None
    message_en: str
    message_zh: str


class CalendarYearSummary(BaseModel):
    """A stored year in the calendar list."""

    year: int
    holidays: int
    days_off: int
    make_up_workdays: int
    version: int
    origin: Origin
    updated_at: datetime
    updated_by: str


class CalendarSummary(BaseModel):
    """One calendar: its stored years, where its known days end, and whether the SLA runs on it."""

    code: str
    used_for_sla: bool
    years: list[CalendarYearSummary]
    ends_on: date | None
    days_remaining: int


class CalendarList(BaseModel):
    """Every calendar, the one the SLA uses, today's business date and the warnings about it."""

    sla_calendar: str
    today: date
    calendars: list[CalendarSummary]
    calendar_warnings: list[CalendarWarning]


class CalendarYearUpdated(BaseModel):
    """An upserted year and how many open complaints' timers it moved."""

    year: CalendarYearRead
    recomputed: int
    calendar_warnings: list[CalendarWarning]
