"""Promotion uplift (促销效果): the baseline window of a promotion and the measured uplift from monthly sales.

A promotion runs over whole months (``starts_on`` the 1st of a month, ``ends_on`` the last day of one), because
sales are read per month. Its **measured uplift** is

    uplift % = (S_promo − S_baseline) ÷ S_baseline × 100, rounded half-up to two places,

where ``S_promo`` is the account's revenue in the promotion's months (of its product line, when it names one) and
``S_baseline`` the revenue of the baseline window: the same number of months immediately before the promotion
(``previous_period``, the default) or the same months one year earlier (``same_period_last_year``). It is measured
only once the period has ended (the business date after ``ends_on``); with no baseline revenue there is no
percentage (``no_baseline``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from services.goals.periods import add_months, month_key

Baseline = Literal["previous_period", "same_period_last_year"]
UpliftStatus = Literal["planned", "running", "measured", "no_baseline"]


def promotion_months(starts_on: date, ends_on: date) -> tuple[str, ...]:
    """The ``YYYY-MM`` months a promotion covers, first to last."""
    first, last = month_key(starts_on.year, starts_on.month), month_key(ends_on.year, ends_on.month)
    months = [first]
    while months[-1] != last:
        months.append(add_months(months[-1], 1))
    return tuple(months)


def whole_months_problem(starts_on: date, ends_on: date) -> str | None:
    """Why a promotion period is not whole months (None when it is)."""
    if ends_on < starts_on:
        return "ends_on is before starts_on"
    if starts_on.day != 1:
        return "starts_on must be the first day of a month (uplift is measured on monthly sales)"
    if (ends_on + timedelta(days=1)).day != 1:
        return "ends_on must be the last day of a month (uplift is measured on monthly sales)"
    return None


def baseline_months(months: tuple[str, ...], baseline: Baseline) -> tuple[str, ...]:
    """The months the promotion's sales are compared with."""
    if baseline == "same_period_last_year":
        return tuple(add_months(m, -12) for m in months)
    return tuple(add_months(months[0], -len(months) + i) for i in range(len(months)))


@dataclass(frozen=True)
class Uplift:
    """Where a promotion's measurement stands, and its figures once measured."""

    status: UpliftStatus
    months: tuple[str, ...]
    baseline_months: tuple[str, ...]
    promotion_sales: Decimal | None = None
    baseline_sales: Decimal | None = None
    uplift_pct: Decimal | None = None


def uplift_pct(promotion_sales: Decimal, baseline_sales: Decimal) -> Decimal | None:
    """(promotion − baseline) ÷ baseline × 100, two places half-up; None without baseline sales."""
    if baseline_sales <= 0:
        return None
    raw = (promotion_sales - baseline_sales) / baseline_sales * 100
    return raw.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def measure_uplift(
    *,
    starts_on: date,
    ends_on: date,
    baseline: Baseline,
    revenue_by_month: Mapping[str, Decimal],
    today: date,
) -> Uplift:
    """The promotion's uplift as of ``today`` from revenue per month (months without sales count as zero)."""
    months = promotion_months(starts_on, ends_on)
    before = baseline_months(months, baseline)
    if today <= ends_on:
        return Uplift("planned" if today < starts_on else "running", months, before)
    promo = sum((revenue_by_month.get(m, Decimal(0)) for m in months), Decimal(0))
    base = sum((revenue_by_month.get(m, Decimal(0)) for m in before), Decimal(0))
    pct = uplift_pct(promo, base)
    return Uplift("measured" if pct is not None else "no_baseline", months, before, promo, base, pct)
