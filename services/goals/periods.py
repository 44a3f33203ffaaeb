"""Periods on a configurable fiscal calendar: ``2026`` (year), ``2026-Q1`` (quarter), ``2026-03`` (month)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class InvalidPeriod(ValueError):
    """A period string that is not ``YYYY``, ``YYYY-Qn`` or ``YYYY-MM``."""


def month_key(year: int, month: int) -> str:
    """``(2026, 3)`` → ``"2026-03"``."""
    return f"{year:04d}-{month:02d}"


def add_months(key: str, count: int) -> str:
    """Shift a ``YYYY-MM`` key by ``count`` months."""
    year, month = int(key[:4]), int(key[5:7])
    index = year * 12 + (month - 1) + count
    return month_key(index // 12, index % 12 + 1)


def month_start(key: str) -> date:
    """First day of a ``YYYY-MM`` month."""
    return date(int(key[:4]), int(key[5:7]), 1)


def days_in_month(key: str) -> int:
    """Number of days of a ``YYYY-MM`` month."""
    return calendar.monthrange(int(key[:4]), int(key[5:7]))[1]


@dataclass(frozen=True)
class Period:
    """A fiscal year, fiscal quarter or calendar month and the calendar months it covers."""

    text: str
    kind: str  # "year" | "quarter" | "month"
    fiscal_year: int
    months: tuple[str, ...]

    @property
    def start(self) -> date:
        """First day of the period."""
        return month_start(self.months[0])

    @property
    def end(self) -> date:
        """First day after the period."""
        return month_start(add_months(self.months[-1], 1))


@dataclass(frozen=True)
class FiscalCalendar:
    """Turns period strings into months; fiscal year N starts in ``start_month`` of calendar year N."""

    start_month: int = 1

    def year_months(self, fiscal_year: int) -> tuple[str, ...]:
        """The 12 months of a fiscal year."""
        first = month_key(fiscal_year, self.start_month)
        return tuple(add_months(first, i) for i in range(12))

    def parse(self, text: str) -> Period:
        """Parse ``2026``, ``2026-Q1`` or ``2026-03``; raises InvalidPeriod."""
        text = text.strip()
        if m := _YEAR.match(text):
            year = int(m.group(1))
            return Period(text, "year", year, self.year_months(year))
        if m := _QUARTER.match(text):
            year, quarter = int(m.group(1)), int(m.group(2))
            months = self.year_months(year)[(quarter - 1) * 3 : quarter * 3]
            return Period(text, "quarter", year, months)
        if m := _MONTH.match(text):
            key = month_key(int(m.group(1)), int(m.group(2)))
            return Period(key, "month", self.fiscal_year_of(key), (key,))
        raise InvalidPeriod(f"period {text!r} is not YYYY, YYYY-Qn or YYYY-MM")

    def fiscal_year_of(self, key: str) -> int:
        """Fiscal year a ``YYYY-MM`` month belongs to."""
        year, month = int(key[:4]), int(key[5:7])
        return year if month >= self.start_month else year - 1

    def quarter_of(self, key: str) -> str:
        """Fiscal quarter (``YYYY-Qn``) of a month."""
        fiscal_year = self.fiscal_year_of(key)
        index = self.year_months(fiscal_year).index(key)
        return f"{fiscal_year}-Q{index // 3 + 1}"

    def children(self, period: Period, into: str) -> list[Period]:
        """Sub-periods: a year into quarters or months, a quarter into months."""
        if into == "quarters" and period.kind == "year":
            return [self.parse(f"{period.fiscal_year}-Q{q}") for q in range(1, 5)]
        if into == "months" and period.kind in ("year", "quarter"):
            return [self.parse(m) for m in period.months]
        raise InvalidPeriod(f"a {period.kind} cannot be split into {into}")

    def shifted(self, period: Period, *, years: int = 0, periods: int = 0) -> Period:
        """The same kind of period ``years`` years and/or ``periods`` periods away."""
        step = {"year": 12, "quarter": 3, "month": 1}[period.kind]
        first = add_months(period.months[0], years * 12 + periods * step)
        if period.kind == "month":
            return self.parse(first)
        fiscal_year = self.fiscal_year_of(first)
        if period.kind == "year":
            return self.parse(str(fiscal_year))
        return self.parse(self.quarter_of(first))

    def current(self, today: date, kind: str) -> Period:
        """The period of ``kind`` containing ``today``."""
        key = month_key(today.year, today.month)
        if kind == "month":
            return self.parse(key)
        if kind == "quarter":
            return self.parse(self.quarter_of(key))
        return self.parse(str(self.fiscal_year_of(key)))


def elapsed_fractions(period: Period, today: date) -> list[Decimal]:
    """Per month of the period, the share of it that has passed by the start of ``today`` (0..1)."""
    fractions = []
    for key in period.months:
        start = month_start(key)
        days = days_in_month(key)
        passed = (today - start).days
        fractions.append(Decimal(min(max(passed, 0), days)) / Decimal(days))
    return fractions
