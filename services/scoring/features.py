"""Raw indicator values of an account, derived from its profile, monthly actuals and event signals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from services.scoring.scoring_model import CREDIT_GRADE_VALUES
from shared.clock import business_date, start_of_business_day

LEVEL_RANK = {"execution": 1, "decision": 2, "executive": 3}


def month_index(period: str) -> int:
    """``"2026-03"`` → a running month number (for window arithmetic)."""
    year, month = period.split("-", 1)
    return int(year) * 12 + int(month) - 1


def period_of(moment: date | datetime) -> str:
    """The ``YYYY-MM`` period of a date."""
    return f"{moment.year:04d}-{moment.month:02d}"


WINDOW_MONTHS = 12


@dataclass(frozen=True)
class AsOf:
    """The moment a score is computed for: the instant, and the company's business date and month.

    Every window is anchored on the business month of ``today`` in the company's zone (``KAM_TIMEZONE``): the 12
    months ending with it (the month in progress counts). So every re-score on one business day sees the same
    windows, whatever the hour, the UTC date or the order in which the events arrived.
    """

    now: datetime
    zone: ZoneInfo

    @property
    def today(self) -> date:
        """The business date (company zone)."""
        return business_date(self.now, self.zone)

    @property
    def period(self) -> str:
        """The business month the windows end with (``YYYY-MM``)."""
        return period_of(self.today)

    @property
    def window_start(self) -> date:
        """The first day of the first month of the 12-month window."""
        first = month_index(self.period) - (WINDOW_MONTHS - 1)
        return date(first // 12, first % 12 + 1, 1)

    @property
    def window_starts_at(self) -> datetime:
        """The instant the window begins (midnight of its first day in the company zone)."""
        return start_of_business_day(self.window_start, self.zone)


@dataclass(frozen=True)
class ActualsSummary:
    """Purchases and profit of the 12 months ending with the reference month, and the 12 before."""

    annual_purchases: Decimal = Decimal(0)
    annual_profit: Decimal = Decimal(0)
    previous_year_purchases: Decimal = Decimal(0)
    active_months: int = 0
    product_lines: list[str] = field(default_factory=list)


def summarise_actuals(
    months: Iterable[tuple[str, Decimal, Decimal, Mapping[str, Any]]], *, current_period: str
) -> ActualsSummary:
    """Sum (period, revenue, gross profit, revenue by product line) into the yearly figures."""
    now = month_index(current_period)
    purchases = profit = previous = Decimal(0)
    active = 0
    lines: set[str] = set()
    for period, revenue, gross_profit, by_line in months:
        age = now - month_index(period)
        if 0 <= age < WINDOW_MONTHS:
            purchases += revenue
            profit += gross_profit
            if revenue > 0:
                active += 1
            lines.update(line for line, amount in by_line.items() if Decimal(str(amount)) > 0)
        elif WINDOW_MONTHS <= age < 2 * WINDOW_MONTHS:
            previous += revenue
    return ActualsSummary(purchases, profit, previous, active, sorted(lines))


def average_satisfaction(ratings: Iterable[int]) -> tuple[Decimal | None, int]:
    """(average to 2 decimals, how many) of satisfaction ratings: exact decimal arithmetic, whatever their order."""
    values = list(ratings)
    if not values:
        return None, 0
    return (Decimal(sum(values)) / Decimal(len(values))).quantize(Decimal("0.01")), len(values)


def survey_rating(nps: int | None, csat: int | None) -> Decimal | None:
    """A survey answer on the satisfaction scale 1–5: the CSAT as given, the NPS (0–10) mapped linearly
    (0 → 1, 10 → 5); both given: their mean. None when the answer has neither."""
    parts = [Decimal(csat)] if csat is not None else []
    if nps is not None:
        parts.append(1 + Decimal(nps) * Decimal("0.4"))
    return sum(parts, Decimal(0)) / len(parts) if parts else None


@dataclass(frozen=True)
class Satisfaction:
    """The satisfaction indicator and where it came from: complaints' ratings and survey answers, each one vote."""

    value: Decimal | None
    complaint_average: Decimal | None
    complaint_count: int
    survey_average: Decimal | None
    survey_count: int


def combined_satisfaction(complaint_ratings: Iterable[int], survey_ratings: Iterable[Decimal]) -> Satisfaction:
    """Every closed complaint's rating and every survey answer's rating (1–5) averaged together (2 decimals)."""
    complaints = [Decimal(r) for r in complaint_ratings]
    surveys = list(survey_ratings)

    def mean(values: list[Decimal]) -> Decimal | None:
        return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01")) if values else None

    return Satisfaction(mean(complaints + surveys), mean(complaints), len(complaints), mean(surveys), len(surveys))


def _d(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def cooperation_years(since: date | None, today: date) -> Decimal | None:
    """Whole and partial years since cooperation began (1 decimal)."""
    if since is None:
        return None
    years = Decimal((today - since).days) / Decimal("365.25")
    return max(years, Decimal(0)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def growth_pct(current: Decimal, previous: Decimal) -> Decimal | None:
    """Year-on-year growth in percent (None without a previous year)."""
    if previous <= 0:
        return None
    return ((current - previous) * 100 / previous).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def indicator_values(
    *, account: Mapping[str, Any], features: Mapping[str, Any] | None, today: date, portfolio_profit: Decimal
) -> dict[str, Decimal | None]:
    """Every known indicator's raw value for one account (None = no data)."""
    f = features or {}
    purchases = _d(f.get("annual_purchases")) or Decimal(0)
    profit = _d(f.get("annual_profit")) or Decimal(0)
    previous = _d(f.get("previous_year_purchases")) or Decimal(0)
    grade = f.get("credit_grade")
    share = (profit * 100 / portfolio_profit).quantize(Decimal("0.01")) if portfolio_profit > 0 else Decimal(0)
    return {
        "annual_purchases": purchases,
        "annual_profit": profit,
        "profit_share": share,
        "industry_leadership": _d(account.get("industry_leadership")),
        "reference_value": _d(account.get("reference_value")),
        "channel_value": _d(account.get("channel_value")),
        "product_fit": _d(account.get("product_fit")),
        "expected_growth": _d(account.get("expected_growth_pct")),
        "revenue_growth": growth_pct(purchases, previous),
        "cooperation_years": cooperation_years(account.get("cooperation_since"), today),
        "highest_contact_level": Decimal(int(f.get("highest_contact_level") or 0)),
        "stability": Decimal(int(f.get("active_months") or 0)),
        "satisfaction": _d(f.get("satisfaction_avg")),
        "escalations": Decimal(int(f.get("escalations") or 0)),
        "credit_grade": Decimal(CREDIT_GRADE_VALUES[grade]) if grade in CREDIT_GRADE_VALUES else None,
    }
