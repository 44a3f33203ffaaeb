"""Team scorecards (绩效考核): component scores combined by configurable weights into a KPI score (pure).

A component without data for a person (no target, no complaint, no action item, no rating) gets no score: it is
left out of the weighted total and the weights of the others are re-normalised (never scored 100 by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.goals.forecast import HUNDRED, q2

# Components computed from the data; a qualitative KPI (rated by the supervisor) is any other key.
COMPUTED_COMPONENTS = (
    "revenue_attainment",
    "margin_attainment",
    "sla_compliance",
    "satisfaction",
    "at_risk_targets",
    "action_plan_completion",
)
COMPONENTS = COMPUTED_COMPONENTS[:5]  # the default scheme's components (settings.scorecard_weights)


@dataclass(frozen=True)
class ScorecardInputs:
    """What an account manager's book did in a period (None: no data for that component)."""

    revenue_attainment_pct: Decimal | None
    margin_attainment_pct: Decimal | None
    sla_compliance_pct: Decimal | None  # complaints first-responded within SLA ÷ acknowledged
    satisfaction_avg: Decimal | None  # 1..5 from closed complaints
    at_risk_targets: int | None  # shortfalls (each once); None: no approved target in the period
    action_plan_completion_pct: Decimal | None = None  # action items done on time ÷ items due in the period
    ratings: Mapping[str, Decimal] | None = None  # qualitative KPIs: the supervisor's 0–100


@dataclass(frozen=True)
class Component:
    """One component of a role's scheme: its weight (percent of 100) and the cap of its score."""

    key: str
    weight: Decimal
    cap: Decimal
    kind: str = "computed"  # "computed" | "qualitative"
    label: str | None = None


@dataclass(frozen=True)
class ComponentScore:
    """One line of the breakdown."""

    component: str
    kind: str
    label: str | None
    raw: Decimal | None
    score: Decimal | None  # 0..cap; None: no data, left out of the total
    cap: Decimal
    weight: Decimal
    effective_weight: Decimal  # weight renormalised over components that have data (a share of 1)
    contribution: Decimal
    has_data: bool


def component_scores(
    inputs: ScorecardInputs, *, at_risk_penalty_points: Decimal
) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    """Per component its raw figure and its uncapped score (None without data)."""
    satisfaction = None if inputs.satisfaction_avg is None else q2(inputs.satisfaction_avg / 5 * HUNDRED)
    at_risk = (
        None
        if inputs.at_risk_targets is None
        else max(Decimal(0), HUNDRED - at_risk_penalty_points * inputs.at_risk_targets)
    )
    scores: dict[str, tuple[Decimal | None, Decimal | None]] = {
        "revenue_attainment": (inputs.revenue_attainment_pct, inputs.revenue_attainment_pct),
        "margin_attainment": (inputs.margin_attainment_pct, inputs.margin_attainment_pct),
        "sla_compliance": (inputs.sla_compliance_pct, inputs.sla_compliance_pct),
        "satisfaction": (inputs.satisfaction_avg, satisfaction),
        "at_risk_targets": (None if inputs.at_risk_targets is None else Decimal(inputs.at_risk_targets), at_risk),
        "action_plan_completion": (inputs.action_plan_completion_pct, inputs.action_plan_completion_pct),
    }
    for key, rating in (inputs.ratings or {}).items():
        scores[key] = (rating, rating)
    return scores


def kpi_score(
    scores: Mapping[str, tuple[Decimal | None, Decimal | None]], components: Sequence[Component]
) -> tuple[Decimal | None, list[ComponentScore]]:
    """Weighted mean of the capped component scores over the components with data (weights re-normalised);
    None when no weighted component has data."""

    def capped(score: Decimal | None, cap: Decimal) -> Decimal | None:
        return None if score is None else max(Decimal(0), min(score, cap))

    available = sum((c.weight for c in components if scores.get(c.key, (None, None))[1] is not None), Decimal(0))
    breakdown = []
    total = Decimal(0)
    for c in components:
        raw, score = scores.get(c.key, (None, None))
        score = capped(score, c.cap)
        effective = c.weight / available if score is not None and available > 0 else Decimal(0)
        contribution = score * effective if score is not None else Decimal(0)
        total += contribution
        breakdown.append(
            ComponentScore(
                c.key,
                c.kind,
                c.label,
                raw,
                score,
                c.cap,
                c.weight,
                q2(effective * HUNDRED) / HUNDRED,
                q2(contribution),
                score is not None,
            )
        )
    return (q2(total) if available > 0 else None), breakdown


def default_components(
    weights: Mapping[str, Decimal], *, attainment_cap_pct: Decimal, keys: Iterable[str] = COMPUTED_COMPONENTS
) -> list[Component]:
    """The scheme of a role nobody configured: the settings' weights as percents of 100, attainment capped at
    ``attainment_cap_pct`` and every other score at 100."""
    total = sum(weights.values(), Decimal(0))
    out = []
    for key in keys:
        if key not in weights:
            continue
        weight = q2(weights[key] / total * HUNDRED) if total else Decimal(0)
        cap = attainment_cap_pct if key.endswith("_attainment") else HUNDRED
        out.append(Component(key, weight, cap))
    return out
