"""The credit case policy (pure): four-eyes approval thresholds, periodic review intervals and suggested limits by
grade, the minimum number of scorecard factors for a grade, and the order-block rule. Validated once, when the
settings are built (``KAM_RISK_*``), so a bad table stops the service at start rather than a request later."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any, get_args

from shared.money import DEFAULT_CURRENCY
from shared.vocabulary import CreditGrade

GRADES: tuple[str, ...] = get_args(CreditGrade)
GRADE_RANK: dict[str, int] = {grade: rank for rank, grade in enumerate(GRADES, start=1)}  # A 1 … E 5
CURRENCY = re.compile(r"^[A-Z]{3}$")
CENTS = Decimal("0.0001")  # money is kept and shown with 4 places
# Who gives each approval of a limit request: the first is a risk officer's, a second one (above the threshold)
# a different risk officer's or a supervisor's — never the maker's, never the first approver's.
FIRST_APPROVER_ROLES: tuple[str, ...] = ("risk_officer",)
SECOND_APPROVER_ROLES: tuple[str, ...] = ("risk_officer", "supervisor")

DEFAULT_APPROVAL_THRESHOLDS: dict[str, Decimal] = {"CNY": Decimal(10_000_000)}
DEFAULT_REVIEW_INTERVAL_MONTHS: dict[str, int] = {"A": 12, "B": 9, "C": 6, "D": 4, "E": 3}
DEFAULT_SUGGESTED_LIMITS: dict[str, Decimal] = {
    "A": Decimal(10_000_000),
    "B": Decimal(5_000_000),
    "C": Decimal(2_000_000),
    "D": Decimal(500_000),
    "E": Decimal(0),
}
DEFAULT_MIN_SCORING_FACTORS = 3


def _finite(value: Decimal, what: str) -> Decimal:
    if not value.is_finite():
        raise ValueError(f"{what} must be a finite number, not {value}")
    return value


def _per_grade(table: Mapping[str, Any], what: str) -> None:
    """A table per grade lists exactly A–E."""
    if sorted(table) != list(GRADES):
        raise ValueError(f"{what} must list exactly the grades {', '.join(GRADES)} (got {', '.join(sorted(table))})")


def _not_increasing(table: Mapping[str, Any], what: str) -> None:
    values = [table[g] for g in GRADES]
    if any(later > earlier for earlier, later in pairwise(values)):
        raise ValueError(f"{what} must not grow from grade A to grade E")


@dataclass(frozen=True)
class CasePolicy:
    """What a credit officer configures; ``__post_init__`` refuses an inconsistent table (ValueError)."""

    approval_thresholds: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_APPROVAL_THRESHOLDS))
    reporting_currency: str = DEFAULT_CURRENCY
    review_interval_months: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_REVIEW_INTERVAL_MONTHS))
    suggested_limits: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_SUGGESTED_LIMITS))
    suggested_limit_currency: str = DEFAULT_CURRENCY
    min_scoring_factors: int = DEFAULT_MIN_SCORING_FACTORS
    order_block_grades: frozenset[str] = frozenset({"E"})
    order_warn_grades: frozenset[str] = frozenset({"D"})
    order_block_on_red_alert: bool = False

    def __post_init__(self) -> None:
        for currency in (*self.approval_thresholds, self.reporting_currency, self.suggested_limit_currency):
            if not CURRENCY.match(currency):
                raise ValueError(f"{currency!r} is not an ISO 4217 currency code")
        for currency, amount in self.approval_thresholds.items():
            if _finite(Decimal(amount), f"approval threshold {currency}") <= 0:
                raise ValueError(f"approval threshold {currency} must be positive")
        _per_grade(self.review_interval_months, "review_interval_months")
        if any(not 1 <= int(m) <= 60 for m in self.review_interval_months.values()):
            raise ValueError("review_interval_months must be 1 to 60 months")
        _not_increasing(self.review_interval_months, "review_interval_months")
        _per_grade(self.suggested_limits, "suggested_limits")
        for grade, amount in self.suggested_limits.items():
            if _finite(Decimal(amount), f"suggested limit {grade}") < 0:
                raise ValueError(f"suggested limit {grade} must not be negative")
        _not_increasing(self.suggested_limits, "suggested_limits")
        if not 1 <= self.min_scoring_factors <= 7:
            raise ValueError("min_scoring_factors must be 1 to 7")
        if not self.order_block_grades <= set(GRADES) or not self.order_warn_grades <= set(GRADES):
            raise ValueError(f"order block and warn grades must be among {', '.join(GRADES)}")
        if self.order_block_grades & self.order_warn_grades:
            raise ValueError("a grade cannot both block and warn")

    def threshold_for(self, currency: str) -> tuple[Decimal, str] | None:
        """The four-eyes threshold a limit in ``currency`` is compared with: its own currency's, else the
        reporting currency's (the limit then converted); None when neither is configured."""
        if currency in self.approval_thresholds:
            return Decimal(self.approval_thresholds[currency]).quantize(CENTS), currency
        if self.reporting_currency in self.approval_thresholds:
            amount = Decimal(self.approval_thresholds[self.reporting_currency]).quantize(CENTS)
            return amount, self.reporting_currency
        return None

    def review_on(self, grade: str, assessed_on: date) -> date:
        """The periodic review date of a profile graded ``grade`` on ``assessed_on``."""
        return add_months(assessed_on, int(self.review_interval_months[grade]))

    def suggested_limit(self, grade: str | None) -> Decimal | None:
        """The limit the table suggests for ``grade`` (in ``suggested_limit_currency``); None when ungraded."""
        if grade is None or grade not in self.suggested_limits:
            return None
        return Decimal(self.suggested_limits[grade]).quantize(CENTS)


DEFAULT_CASE_POLICY = CasePolicy()


def case_policy(settings: Any) -> CasePolicy:
    """The policy of the service's settings (``RiskSettings``); ValueError when a table is inconsistent."""
    return CasePolicy(
        approval_thresholds=dict(settings.limit_approval_thresholds),
        review_interval_months=dict(settings.review_interval_months),
        suggested_limits=dict(settings.suggested_limits),
        suggested_limit_currency=settings.suggested_limit_currency,
        min_scoring_factors=settings.min_scoring_factors,
        order_block_grades=frozenset(settings.order_block_grades),
        order_warn_grades=frozenset(settings.order_warn_grades),
        order_block_on_red_alert=settings.order_block_on_red_alert,
    )


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def is_downgrade(previous: str | None, grade: str) -> bool:
    """A worse grade than the one before (a first grade is no downgrade)."""
    return previous is not None and GRADE_RANK[grade] > GRADE_RANK[previous]


def approvals_needed(
    *,
    status: str,
    approvals_required: int,
    requested_by: str,
    checker_id: str | None,
    first_approved_by: str | None,
) -> list[dict[str, Any]]:
    """The approvals a limit request still waits for: step, roles that may give it, a named checker, and who may
    not (four eyes: the maker, and for the second the first approver)."""
    if status != "pending":
        return []
    steps = []
    if first_approved_by is None:
        steps.append(
            {"step": 1, "roles": list(FIRST_APPROVER_ROLES), "checker_id": checker_id, "excluded": [requested_by]}
        )
    if approvals_required >= 2:
        excluded = [requested_by] + ([first_approved_by] if first_approved_by else [])
        steps.append({"step": 2, "roles": list(SECOND_APPROVER_ROLES), "checker_id": None, "excluded": excluded})
    return steps
