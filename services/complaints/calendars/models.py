"""Tables of the business calendar: one row per calendar and year, and the audit of every change to it."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column

from services.complaints.models import Base
from shared.db import UTCDateTime


class CalendarYearRow(Base):
    """One year of a business calendar: working hours and its holidays (days off, make-up workdays)."""

    __tablename__ = "calendar_years"

    calendar_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    day_start: Mapped[time] = mapped_column(Time())
    day_end: Mapped[time] = mapped_column(Time())
    # [{name_zh, name_en, days_off: [ISO dates], make_up_workdays: [ISO dates]}]
    holidays: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    source: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(20))  # seed | api
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(100))


class CalendarChange(Base):
    """An audit entry: who changed which calendar year when, and what it was before and after (never edited)."""

    __tablename__ = "calendar_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    calendar_code: Mapped[str] = mapped_column(String(20), index=True)
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_by: Mapped[str] = mapped_column(String(100))
    origin: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[str | None] = mapped_column(String(128))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
