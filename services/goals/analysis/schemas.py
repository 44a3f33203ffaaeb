"""Response models of the analyses: variance of a target and team scorecards."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from services.goals.money import MoneyStr
from services.goals.targets.schemas import Metric

VarianceBaseline = Literal["target", "previous_period", "previous_year"]
ScoreComponent = Literal["revenue_attainment", "margin_attainment", "sla_compliance", "satisfaction", "at_risk_targets"]


class VarianceRowRead(BaseModel):
    """One part's contribution to the difference."""

    key: str
    current: MoneyStr
    baseline: MoneyStr
    delta: MoneyStr
    share_pct: MoneyStr | None
    price_effect: MoneyStr | None
    volume_effect: MoneyStr | None


class VarianceRead(BaseModel):
    """Why a target's figure moved: against target, previous period or same period last year."""

    target_id: str
    metric: Metric
    period: str
    compare: VarianceBaseline
    baseline_period: str | None
    currency: str  # of every amount here: the target's (its account's reporting currency)
    current_total: MoneyStr
    baseline_total: MoneyStr
    delta: MoneyStr
    by_product_line: list[VarianceRowRead]
    by_month: list[VarianceRowRead]
    by_region: list[VarianceRowRead]


class ScoreComponentRead(BaseModel):
    """One component of a KPI score."""

    component: ScoreComponent
    raw: MoneyStr | None
    score: MoneyStr | None
    weight: MoneyStr
    effective_weight: MoneyStr
    contribution: MoneyStr


class ScorecardRead(BaseModel):
    """An account manager's scorecard for a period."""

    owner_id: str
    period: str
    accounts: int
    currency: str | None  # of the revenue and margin figures (an account manager's book is in one currency)
    revenue_target: MoneyStr | None
    revenue_actual: MoneyStr
    margin_target: MoneyStr | None
    margin_actual: MoneyStr
    complaints_acknowledged: int
    complaints_within_sla: int
    complaints_rated: int
    at_risk_targets: int
    kpi_score: MoneyStr | None
    breakdown: list[ScoreComponentRead]
