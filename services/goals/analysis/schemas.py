"""Response models of the analyses: variance of a target and team scorecards."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from services.goals.money import MoneyStr
from services.goals.targets.schemas import Metric

VarianceBaseline = Literal["target", "previous_period", "previous_year"]
VarianceScope = Literal["account", "team", "portfolio"]
VarianceMetric = Literal["revenue", "gross_profit"]


class VarianceRowRead(BaseModel):
    """One part's contribution to the difference."""

    key: str
    current: MoneyStr
    baseline: MoneyStr
    delta: MoneyStr
    share_pct: MoneyStr | None
    name: str | None = None  # an account's name (rows per account)
    price_effect: MoneyStr | None
    volume_effect: MoneyStr | None
    mix_effect: MoneyStr | None
    new_effect: MoneyStr | None
    lost_effect: MoneyStr | None
    cost_effect: MoneyStr | None  # gross profit only


class EffectsRead(BaseModel):
    """Why the whole moved: the effects add up to the delta (``cost`` for gross profit only)."""

    price: MoneyStr
    volume: MoneyStr
    mix: MoneyStr
    new: MoneyStr
    lost: MoneyStr
    cost: MoneyStr | None


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
    effects: EffectsRead | None  # none against the plan (a plan has no quantities)
    by_product_line: list[VarianceRowRead]
    by_month: list[VarianceRowRead]
    by_region: list[VarianceRowRead]


class ScopeVarianceRead(BaseModel):
    """Why an account's, a team's (an account manager's book) or the portfolio's figure moved against last year
    or the previous period; ``by_account`` ranks the accounts by their contribution to the delta."""

    scope: VarianceScope
    account_id: str | None
    owner_id: str | None
    metric: VarianceMetric
    period: str
    compare: Literal["previous_period", "previous_year"]
    baseline_period: str
    months: list[str]  # the months compared (those of the period that have started)
    accounts: int
    currency: str | None  # of every amount here (the accounts' one reporting currency)
    current_total: MoneyStr
    baseline_total: MoneyStr
    delta: MoneyStr
    effects: EffectsRead
    by_product_line: list[VarianceRowRead]
    by_month: list[VarianceRowRead]
    by_region: list[VarianceRowRead]
    by_account: list[VarianceRowRead]
    by_owner: list[VarianceRowRead]  # portfolio: per account manager (their team)
