"""Team scorecards (绩效考核): component scores combined by configurable weights into a KPI score (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from services.goals.forecast import HUNDRED, q2

COMPONENTS = ("revenue_attainment", "margin_attainment", "sla_compliance", "satisfaction", "at_risk_targets")


@dataclass(frozen=True)
class ScorecardInputs:
    """What an account manager's book did in a period."""

    revenue_attainment_pct: Decimal | None
    margin_attainment_pct: Decimal | None
    sla_compliance_pct: Decimal | None  # complaints first-responded within SLA ÷ acknowledged
    satisfaction_avg: Decimal | None  # 1..5 from closed complaints
    at_risk_targets: int


@dataclass(frozen=True)
class ComponentScore:
    """One line of the breakdown."""

    component: str
    raw: Decimal | None
    score: Decimal | None  # 0..cap
    weight: Decimal
    effective_weight: Decimal  # weight renormalised over components that have data
    contribution: Decimal


def component_scores(
    inputs: ScorecardInputs, *, attainment_cap_pct: Decimal, at_risk_penalty_points: Decimal
) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    """Per component its raw figure and its 0–100 score (attainment capped at ``attainment_cap_pct``)."""

    def capped(value: Decimal | None) -> Decimal | None:
        return None if value is None else max(Decimal(0), min(value, attainment_cap_pct))

    satisfaction = None if inputs.satisfaction_avg is None else q2(inputs.satisfaction_avg / 5 * HUNDRED)
    at_risk = max(Decimal(0), HUNDRED - at_risk_penalty_points * inputs.at_risk_targets)
    return {
        "revenue_attainment": (inputs.revenue_attainment_pct, capped(inputs.revenue_attainment_pct)),
        "margin_attainment": (inputs.margin_attainment_pct, capped(inputs.margin_attainment_pct)),
        "sla_compliance": (inputs.sla_compliance_pct, inputs.sla_compliance_pct),
        "satisfaction": (inputs.satisfaction_avg, satisfaction),
        "at_risk_targets": (Decimal(inputs.at_risk_targets), at_risk),
    }


def kpi_score(
    scores: Mapping[str, tuple[Decimal | None, Decimal | None]], weights: Mapping[str, Decimal]
) -> tuple[Decimal | None, list[ComponentScore]]:
    """Weighted mean of the component scores; components without data drop out and the rest are renormalised."""
    available = sum((weights.get(c, Decimal(0)) for c, (_, s) in scores.items() if s is not None), Decimal(0))
    breakdown = []
    total = Decimal(0)
    for component in COMPONENTS:
        raw, score = scores.get(component, (None, None))
        weight = weights.get(component, Decimal(0))
        effective = weight / available if score is not None and available > 0 else Decimal(0)
        contribution = score * effective if score is not None else Decimal(0)
        total += contribution
        breakdown.append(
            ComponentScore(component, raw, score, weight, q2(effective * HUNDRED) / HUNDRED, q2(contribution))
        )
    return (q2(total) if available > 0 else None), breakdown
