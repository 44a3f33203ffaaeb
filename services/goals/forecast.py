"""Attainment, run-rate and seasonal forecasts to period end, and the gap to target (pure, Decimal)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

TWO = Decimal("0.01")
HUNDRED = Decimal(100)

# Metrics whose actual adds up over months, so a partial period can be extrapolated.
ADDITIVE_METRICS = frozenset({"revenue", "gross_profit"})
# Metrics computed from sales records; the others take a manually reported actual.
SALES_METRICS = frozenset({"revenue", "gross_profit", "gross_margin_pct", "product_penetration", "new_business"})
# Units of the metrics that are not amounts (revenue and gross profit are in the target's currency).
UNITS = {
    "gross_margin_pct": "%",
    "share_of_wallet": "%",
    "market_share": "%",
    "product_penetration": "%",
    "new_business": "count",
    "custom": "value",
}


@dataclass
class MonthFigures:
    """One account's sales in one month (optionally narrowed to a product line)."""

    revenue: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    quantity: Decimal = Decimal(0)
    product_lines: set[str] = field(default_factory=set)
    regions: set[str] = field(default_factory=set)

    @property
    def gross_profit(self) -> Decimal:
        """Revenue minus cost."""
        return self.revenue - self.cost


@dataclass(frozen=True)
class Tracking:
    """Where a target stands: actual so far, forecast to period end, attainment and gap."""

    actual: Decimal | None
    forecast: Decimal | None
    forecast_method: str | None  # "seasonal", "run_rate", "actual" (period over or not extrapolable)
    run_rate_forecast: Decimal | None
    seasonal_forecast: Decimal | None
    attainment_pct: Decimal | None
    forecast_attainment_pct: Decimal | None
    gap: Decimal | None  # target − forecast (positive: shortfall)
    elapsed_months: Decimal


def q2(value: Decimal) -> Decimal:
    """Round to two decimals."""
    return value.quantize(TWO)


def attainment_pct(actual: Decimal | None, target: Decimal) -> Decimal | None:
    """actual ÷ target × 100 (None without an actual or a positive target)."""
    if actual is None or target <= 0:
        return None
    return q2(actual / target * HUNDRED)


def run_rate_forecast(actual: Decimal, elapsed: Decimal, total_months: int) -> Decimal | None:
    """Extrapolate the actual linearly: actual ÷ elapsed months × months in the period."""
    if elapsed <= 0:
        return None
    return q2(actual / elapsed * Decimal(total_months))


def seasonal_forecast(actual: Decimal, weights: Sequence[Decimal], fractions: Sequence[Decimal]) -> Decimal | None:
    """Extrapolate by the seasonal shape: actual ÷ (share of the year's weight that has elapsed)."""
    total = sum(weights, Decimal(0))
    if total <= 0:
        return None
    elapsed_share = sum((w * f for w, f in zip(weights, fractions, strict=True)), Decimal(0)) / total
    if elapsed_share <= 0:
        return None
    return q2(actual / elapsed_share)


def metric_actual(
    metric: str,
    months: Sequence[str],
    figures: Mapping[str, MonthFigures],
    *,
    offered_lines: Sequence[str],
    history: Mapping[str, MonthFigures] | None = None,
) -> Decimal:
    """The actual of a sales metric over ``months`` (``history``: the 12 months before, for new business)."""
    rows = [figures[m] for m in months if m in figures]
    revenue = sum((r.revenue for r in rows), Decimal(0))
    cost = sum((r.cost for r in rows), Decimal(0))
    if metric == "revenue":
        return revenue
    if metric == "gross_profit":
        return revenue - cost
    if metric == "gross_margin_pct":
        return q2((revenue - cost) / revenue * HUNDRED) if revenue else Decimal(0)
    bought = set().union(*(r.product_lines for r in rows)) if rows else set()
    if metric == "product_penetration":
        offered = set(offered_lines)
        return q2(Decimal(len(bought & offered)) / Decimal(len(offered)) * HUNDRED) if offered else Decimal(0)
    if metric == "new_business":
        before = list((history or {}).values())
        old_lines = set().union(*(r.product_lines for r in before)) if before else set()
        old_regions = set().union(*(r.regions for r in before)) if before else set()
        regions = set().union(*(r.regions for r in rows)) if rows else set()
        return Decimal(len(bought - old_lines) + len(regions - old_regions))
    raise ValueError(f"{metric} is not computed from sales")


def track(
    *,
    metric: str,
    target_value: Decimal,
    months: Sequence[str],
    fractions: Sequence[Decimal],
    actual: Decimal | None,
    seasonal_weights: Sequence[Decimal] | None = None,
) -> Tracking:
    """Attainment, forecast and gap of a target given its actual so far and how much of the period passed."""
    elapsed = sum(fractions, Decimal(0))
    if actual is None:
        return Tracking(None, None, None, None, None, None, None, None, elapsed)
    run_rate = seasonal = None
    if elapsed >= len(months):
        forecast: Decimal | None = actual
        method: str | None = "actual"
    elif metric in ADDITIVE_METRICS:
        run_rate = run_rate_forecast(actual, elapsed, len(months))
        if seasonal_weights and len(seasonal_weights) == len(months) and sum(seasonal_weights) > 0:
            seasonal = seasonal_forecast(actual, seasonal_weights, fractions)
        forecast, method = (seasonal, "seasonal") if seasonal is not None else (run_rate, "run_rate")
        if forecast is None:
            method = None
    else:
        # Ratios and counts are not extrapolated: the forecast is the level reached so far.
        forecast, method = (actual, "actual") if elapsed > 0 else (None, None)
    return Tracking(
        actual=actual,
        forecast=forecast,
        forecast_method=method,
        run_rate_forecast=run_rate,
        seasonal_forecast=seasonal,
        attainment_pct=attainment_pct(actual, target_value),
        forecast_attainment_pct=attainment_pct(forecast, target_value),
        gap=q2(target_value - forecast) if forecast is not None else None,
        elapsed_months=q2(elapsed),
    )


def is_at_risk(tracking: Tracking, threshold_pct: Decimal) -> bool:
    """Whether the forecast attains less than ``threshold_pct`` of the target."""
    pct = tracking.forecast_attainment_pct
    return pct is not None and pct < threshold_pct


def is_achieved(tracking: Tracking, target_value: Decimal) -> bool:
    """Whether the actual has reached the target."""
    return tracking.actual is not None and tracking.actual >= target_value
