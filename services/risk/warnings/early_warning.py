"""Early-warning arithmetic: rule conditions → level, the alert lifecycle, sales drop and concentration (pure)."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.errors import InvalidTransition
from shared.vocabulary import ALERT_LEVELS, AlertLevel

OPERATORS = ("gt", "gte", "lt", "lte", "eq")

# Signal types and what their value means.
SIGNAL_TYPES: dict[str, str] = {
    "financial_deterioration": "severity 1–5, entered or imported",
    "industry_policy": "impact 1–5 of an industry policy change",
    "complaint_escalation": "escalation level of a complaint",
    "sales_drop": "drop of last month's revenue versus the same month a year before and a seasonal baseline (or, "
    "without a year of history, the month before), in %",
    "revenue_concentration": "the account's share of our revenue over the last 12 months, in %",
    "contract_expiry": "days until a contract expires",
    "receivables_overdue": "days past due of an open invoice (recorded as it enters each aging bucket)",
    "credit_utilisation": "exposure ÷ credit limit in force, in %",
    "credit_downgrade": "the grade an assessment moved the account down to: A 1 … E 5",
}

# Alert lifecycle: raised → acknowledged → mitigating → cleared (a false alarm may be cleared at once).
ALERT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "raised": ("acknowledged", "cleared"),
    "acknowledged": ("mitigating", "cleared"),
    "mitigating": ("cleared",),
    "cleared": (),
}
OPEN_ALERT_STATUSES: tuple[str, ...] = ("raised", "acknowledged", "mitigating")
# Alerts a higher level re-opens for attention (back to ``raised``, with the plan steps of the new level).
REOPENED_BY_ESCALATION: tuple[str, ...] = ("acknowledged", "mitigating")

# What happens to an open alert once its cause is gone, per signal type: ``auto`` — cleared by the service (the
# cause is a fact it holds: the invoice is paid, the utilisation is back under every threshold, the contract was
# renewed or terminated); ``proposed`` — marked for clearing, a person decides (a month's figures may still be
# corrected, a share moves with the whole portfolio); ``manual`` — judgement only (a report, a policy, a complaint).
CLEARING: dict[str, str] = {
    "financial_deterioration": "manual",
    "industry_policy": "manual",
    "complaint_escalation": "manual",
    "sales_drop": "proposed",
    "revenue_concentration": "proposed",
    "contract_expiry": "auto",
    "receivables_overdue": "auto",
    "credit_utilisation": "auto",
    "credit_downgrade": "manual",  # a later, better grade is news, not proof
}
# Signal types whose alerts are kept per subject below the account (the detail naming it), not folded per account.
SUBJECT_KEYS: dict[str, str] = {"contract_expiry": "contract_id"}


@dataclass(frozen=True)
class Condition:
    """``value <operator> threshold`` gives ``level``."""

    operator: str
    threshold: Decimal
    level: AlertLevel

    def holds(self, value: Decimal) -> bool:
        """Whether ``value`` meets the condition."""
        t = self.threshold
        return {
            "gt": value > t,
            "gte": value >= t,
            "lt": value < t,
            "lte": value <= t,
            "eq": value == t,
        }[self.operator]


def level_rank(level: str) -> int:
    """green 0 … red 3."""
    return ALERT_LEVELS.index(level)


def evaluate_conditions(conditions: Sequence[Condition], value: Decimal) -> str | None:
    """The most severe level whose condition holds, or None."""
    matched: list[str] = [c.level for c in conditions if c.holds(value)]
    return max(matched, key=level_rank) if matched else None


def parse_conditions(raw: Sequence[dict[str, Any]]) -> list[Condition]:
    """Conditions from their stored/submitted form; ValueError on an unknown operator or level."""
    conditions = []
    for item in raw:
        if item["operator"] not in OPERATORS:
            raise ValueError(f"unknown operator {item['operator']!r}; allowed: {', '.join(OPERATORS)}")
        if item["level"] not in ALERT_LEVELS:
            raise ValueError(f"unknown level {item['level']!r}; allowed: {', '.join(ALERT_LEVELS)}")
        conditions.append(Condition(item["operator"], Decimal(str(item["threshold"])), item["level"]))
    return conditions


def check_alert_transition(current: str, target: str) -> None:
    """Raise InvalidTransition (409, with the allowed targets) unless ``current → target`` is allowed."""
    allowed = ALERT_TRANSITIONS.get(current, ())
    if target not in allowed:
        raise InvalidTransition(
            f"An alert cannot go from {current} to {target}", current=current, allowed=list(allowed)
        )


def current_period(today: date) -> str:
    """The running month of a business date, ``YYYY-MM`` (its revenue total is still partial)."""
    return f"{today.year}-{today.month:02d}"


def period_end(period: str) -> date:
    """The last day of a month ``YYYY-MM`` (the date a month's revenue is converted at)."""
    year, month = (int(p) for p in period.split("-"))
    return date(year, month, calendar.monthrange(year, month)[1])


def previous_period(period: str) -> str:
    """``2026-03`` → ``2026-02`` (``2026-01`` → ``2025-12``)."""
    year, month = (int(p) for p in period.split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def next_period(period: str) -> str:
    """``2026-12`` → ``2027-01``."""
    year, month = (int(p) for p in period.split("-"))
    return f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"


def trailing_periods(period: str, months: int = 12) -> list[str]:
    """The ``months`` periods ending with ``period`` (oldest first)."""
    periods = [period]
    for _ in range(months - 1):
        periods.append(previous_period(periods[-1]))
    return periods[::-1]


def sales_drop_pct(previous: Decimal, current: Decimal) -> Decimal | None:
    """How much revenue fell versus the previous period, in % (None when there is no previous revenue)."""
    if previous <= 0:
        return None
    return ((previous - current) * 100 / previous).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def concentration_pct(account_revenue: Decimal, total_revenue: Decimal) -> Decimal | None:
    """An account's share of the total, in % (None when the total is not positive)."""
    if total_revenue <= 0:
        return None
    return (account_revenue * 100 / total_revenue).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def step_applies(step_level: str | None, level: str, above: str | None) -> bool:
    """Whether a plan step belongs to an alert at ``level``: a step without a level when the alert is new
    (``above`` None); a step of a level when that level is reached now (above ``above``, up to ``level``)."""
    if step_level is None:
        return above is None
    reached = level_rank(step_level) <= level_rank(level)
    return reached and (above is None or level_rank(step_level) > level_rank(above))


def seasonal_drop(
    last: Decimal, before: Decimal | None, last_year: Decimal | None, before_last_year: Decimal | None
) -> dict[str, Decimal | None]:
    """Last month's drop (in %) versus the same month a year earlier (``yoy``), versus a seasonal baseline —
    the month before scaled by last year's move between the same two months (``seasonal``) — and versus the
    month before (``mom``). ``value`` is what counts: the smaller of ``yoy`` and ``seasonal`` when a year of
    history is there (both must show the drop: a seasonal dip or a year of growth is not a risk), else ``mom``."""
    mom = sales_drop_pct(before, last) if before is not None else None
    yoy = sales_drop_pct(last_year, last) if last_year is not None else None
    seasonal = None
    if before is not None and last_year is not None and before_last_year is not None and before_last_year > 0:
        seasonal = sales_drop_pct(before * last_year / before_last_year, last)
    known = [d for d in (yoy, seasonal) if d is not None]
    value = min(known) if known else mom
    return {"value": value, "yoy": yoy, "seasonal": seasonal, "mom": mom}
