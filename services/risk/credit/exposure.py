"""Exposure arithmetic: aging buckets, dunning levels, utilisation, payment behaviour and the credit check decision
(pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Decision = Literal["pass", "warn", "block"]
BUCKETS: tuple[str, ...] = ("current", "1_30", "31_60", "61_90", "over_90")
ZERO = Decimal(0)
# Dunning level n from the n-th number of days past due on (KAM_RISK_DUNNING_LEVEL_DAYS).
DEFAULT_DUNNING_LEVEL_DAYS: tuple[int, ...] = (1, 15, 31, 61)
# How many days after the business date an invoice, credit note or payment date may lie (clock skew, time zones).
DEFAULT_FUTURE_TOLERANCE_DAYS = 1


@dataclass(frozen=True)
class ReceivablesPolicy:
    """How far ahead a business date may lie, and the dunning levels by days past due (``RiskSettings``)."""

    future_tolerance_days: int = DEFAULT_FUTURE_TOLERANCE_DAYS
    dunning_level_days: Sequence[int] = DEFAULT_DUNNING_LEVEL_DAYS


@dataclass(frozen=True)
class Receivable:
    """An invoice's open balance and due date."""

    amount: Decimal
    paid: Decimal
    due_on: date
    issued_on: date | None = None
    disputed: bool = False  # an open dispute: still owed, but not chased and no overdue verdict

    @property
    def outstanding(self) -> Decimal:
        """What the customer still owes on it."""
        return max(self.amount - self.paid, ZERO)


@dataclass(frozen=True)
class OpenOrder:
    """An order not yet invoiced; ``expected_on`` is when it is expected to become a receivable."""

    amount: Decimal
    expected_on: date | None = None


def bucket_for(days_past_due: int) -> str:
    """The aging bucket of a number of days past due (≤ 0 is current)."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1_30"
    if days_past_due <= 60:
        return "31_60"
    if days_past_due <= 90:
        return "61_90"
    return "over_90"


def dunning_level(days_past_due: int, level_days: Sequence[int] = DEFAULT_DUNNING_LEVEL_DAYS) -> int:
    """The dunning level of an invoice ``days_past_due`` overdue: how many level thresholds it has reached (0: none)."""
    return sum(1 for start in level_days if days_past_due >= start)


def aging(receivables: Iterable[Receivable], as_of: date) -> dict[str, Decimal]:
    """Outstanding amounts per aging bucket, plus ``total`` and ``overdue``."""
    buckets = dict.fromkeys(BUCKETS, ZERO)
    for r in receivables:
        if r.outstanding > 0:
            buckets[bucket_for((as_of - r.due_on).days)] += r.outstanding
    total = sum(buckets.values(), ZERO)
    return {**buckets, "total": total, "overdue": total - buckets["current"]}


def utilisation_pct(exposure: Decimal, limit: Decimal | None) -> Decimal | None:
    """Exposure as a percentage of the limit (2 places); None when there is no positive limit."""
    if limit is None or limit <= 0:
        return None
    return (exposure * 100 / limit).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def payment_behaviour(receivables: list[Receivable], as_of: date, *, window_days: int = 90) -> dict[str, Decimal]:
    """Days sales outstanding, worst days past due and overdue ratio derived from the receivables.

    DSO = outstanding ÷ amounts invoiced in the last ``window_days`` × ``window_days``.
    """
    outstanding = sum((r.outstanding for r in receivables), ZERO)
    overdue = sum((r.outstanding for r in receivables if r.outstanding > 0 and r.due_on < as_of), ZERO)
    worst = max(((as_of - r.due_on).days for r in receivables if r.outstanding > 0 and r.due_on < as_of), default=0)
    billed = sum(
        (r.amount for r in receivables if r.issued_on is not None and 0 <= (as_of - r.issued_on).days <= window_days),
        ZERO,
    )
    result: dict[str, Decimal] = {"days_past_due": Decimal(worst)}
    if outstanding > 0:
        result["overdue_ratio"] = (overdue / outstanding).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    else:
        result["overdue_ratio"] = ZERO
    if billed > 0:
        result["days_sales_outstanding"] = (outstanding / billed * window_days).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
    return result


@dataclass(frozen=True)
class CreditPolicy:
    """Thresholds of the credit check."""

    warn_utilisation_pct: Decimal = Decimal(90)
    block_days_past_due: int = 90
    block_grades: frozenset[str] = frozenset({"E"})
    warn_grades: frozenset[str] = frozenset({"D"})


@dataclass(frozen=True)
class CreditCheckResult:
    """The decision, why, and the figures it rests on."""

    decision: Decision
    reasons: list[dict[str, str]] = field(default_factory=list)
    static_exposure: Decimal = ZERO
    dynamic_exposure: Decimal | None = None
    limit: Decimal | None = None
    utilisation_after_pct: Decimal | None = None


Effect = Literal["warn", "block"]
Verdict = tuple[Effect, str, str]  # effect, reason code, message


def credit_check(
    *,
    amount: Decimal,
    limit: Decimal | None,
    receivables: list[Receivable],
    open_orders: list[OpenOrder],
    as_of: date,
    horizon: date | None = None,
    grade: str | None = None,
    policy: CreditPolicy | None = None,
    expected_on: date | None = None,
    temporary_limit_expires_on: date | None = None,
) -> CreditCheckResult:
    """Pass, warn or block an order of ``amount`` (SAP-style static and dynamic exposure checks).

    Static exposure counts every open receivable and open order. With a ``horizon`` the dynamic check
    counts only orders expected by the horizon: exceeding the limit dynamically blocks, exceeding it
    only statically (because of orders beyond the horizon) warns. A temporary limit in force
    (``temporary_limit_expires_on``) that expires before the order's ``expected_on`` warns.
    """
    policy = policy or CreditPolicy()
    receivable_total = sum((r.outstanding for r in receivables), ZERO)
    static_exposure = receivable_total + sum((o.amount for o in open_orders), ZERO)
    dynamic_exposure: Decimal | None = None
    if horizon is not None:
        dynamic_exposure = receivable_total + sum(
            (o.amount for o in open_orders if o.expected_on is None or o.expected_on <= horizon), ZERO
        )
    verdicts = [
        *_limit_verdicts(amount, limit, static_exposure, dynamic_exposure, horizon, policy),
        *_overdue_verdicts(receivables, as_of, policy),
        *_grade_verdicts(grade, policy),
        *_temporary_limit_verdicts(temporary_limit_expires_on, expected_on),
    ]
    effects = {effect for effect, _, _ in verdicts}
    decision: Decision = "block" if "block" in effects else "warn" if "warn" in effects else "pass"
    return CreditCheckResult(
        decision=decision,
        reasons=[{"code": code, "message": message} for _, code, message in verdicts],
        static_exposure=static_exposure,
        dynamic_exposure=dynamic_exposure,
        limit=limit,
        utilisation_after_pct=utilisation_pct(static_exposure + amount, limit),
    )


def _limit_verdicts(
    amount: Decimal,
    limit: Decimal | None,
    static_exposure: Decimal,
    dynamic_exposure: Decimal | None,
    horizon: date | None,
    policy: CreditPolicy,
) -> list[Verdict]:
    """The order against the limit in force: no limit, static or dynamic exposure over it, high utilisation."""
    if limit is None or limit <= 0:
        return [("block", "no_credit_limit", "The account has no credit limit")]
    verdicts: list[Verdict] = []
    static_after = static_exposure + amount
    if dynamic_exposure is None:
        if static_after > limit:
            verdicts.append(
                (
                    "block",
                    "static_exposure_exceeds_limit",
                    f"Static exposure after the order {static_after:f} exceeds the limit {limit:f}",
                )
            )
    else:
        dynamic_after = dynamic_exposure + amount
        if dynamic_after > limit:
            verdicts.append(
                (
                    "block",
                    "dynamic_exposure_exceeds_limit",
                    f"Exposure up to {horizon} after the order {dynamic_after:f} exceeds the limit {limit:f}",
                )
            )
        elif static_after > limit:
            verdicts.append(
                (
                    "warn",
                    "static_exposure_exceeds_limit",
                    f"Static exposure after the order {static_after:f} exceeds the limit {limit:f} "
                    f"only through orders due after {horizon}",
                )
            )
    blocked = any(effect == "block" for effect, _, _ in verdicts)
    after_pct = utilisation_pct(static_after, limit)
    if not blocked and after_pct is not None and after_pct >= policy.warn_utilisation_pct and static_after <= limit:
        verdicts.append(
            (
                "warn",
                "high_utilisation",
                f"Utilisation after the order would be {after_pct:f}% (warning at {policy.warn_utilisation_pct:f}%)",
            )
        )
    return verdicts


def _overdue_verdicts(receivables: list[Receivable], as_of: date, policy: CreditPolicy) -> list[Verdict]:
    """Blocks beyond the days-past-due limit, warns on anything overdue below it."""
    chased = [r for r in receivables if r.outstanding > 0 and not r.disputed]
    worst_days = max(((as_of - r.due_on).days for r in chased), default=0)
    overdue_total = sum((r.outstanding for r in chased if r.due_on < as_of), ZERO)
    if worst_days > policy.block_days_past_due:
        return [
            (
                "block",
                "overdue_beyond_limit",
                f"Receivables are {worst_days} days past due (blocking beyond {policy.block_days_past_due})",
            )
        ]
    if overdue_total > 0:
        return [("warn", "overdue_receivables", f"{overdue_total:f} is overdue (up to {worst_days} days)")]
    return []


def _grade_verdicts(grade: str | None, policy: CreditPolicy) -> list[Verdict]:
    """Blocks or warns on the account's credit grade."""
    if grade in policy.block_grades:
        return [("block", "credit_grade", f"Credit grade {grade} blocks new orders")]
    if grade in policy.warn_grades:
        return [("warn", "credit_grade", f"Credit grade {grade} needs attention")]
    return []


def _temporary_limit_verdicts(expires_on: date | None, expected_on: date | None) -> list[Verdict]:
    """Warns when the temporary limit the check relies on ends before the order is expected."""
    if expires_on is None or expected_on is None or expected_on <= expires_on:
        return []
    return [
        (
            "warn",
            "temporary_limit_expires",
            f"The temporary limit expires on {expires_on}, before the order is expected on {expected_on}",
        )
    ]
