"""The risk service's sections of the composed views (account overview and portfolio board)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import ConfigDict, Field

from shared.api import MoneyStr
from shared.money import RateStr
from shared.views.base import ViewModel
from shared.vocabulary import AlertLevel, CreditGrade


class AlertLevelCounts(ViewModel):
    """Open alerts per early-warning level."""

    green: int = 0
    yellow: int = 0
    orange: int = 0
    red: int = 0


class GradeCounts(ViewModel):
    """Accounts per credit grade."""

    A: int = 0
    B: int = 0
    C: int = 0
    D: int = 0
    E: int = 0


class FxConversion(ViewModel):
    """Amounts of one currency converted into a figure's currency: the rate used and its date are shown."""

    figure: str
    currency: str
    amount: MoneyStr
    rate: RateStr
    rate_date: date
    converted_amount: MoneyStr


class RiskCredit(ViewModel):
    """An account's grade and score with its limit in force, exposure and utilisation (null until set)."""

    grade: CreditGrade | None
    score: MoneyStr | None
    risk_class: str | None
    assessed_at: datetime | None
    currency: str
    credit_limit: MoneyStr | None
    effective_limit: MoneyStr | None
    exposure: MoneyStr
    utilisation_pct: MoneyStr | None
    over_limit: bool
    # Every amount of another currency in the figures above, with the rate it was converted at.
    conversions: list[FxConversion] = Field(default_factory=list)


class RiskAging(ViewModel):
    """Open receivables per aging bucket (days past due) and the overdue total."""

    model_config = ConfigDict(extra="ignore", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    current: MoneyStr
    days_1_30: MoneyStr = Field(alias="1_30")
    days_31_60: MoneyStr = Field(alias="31_60")
    days_61_90: MoneyStr = Field(alias="61_90")
    over_90: MoneyStr
    overdue: MoneyStr


class RiskOpenAlert(ViewModel):
    """An alert that is not cleared yet."""

    id: str
    rule_code: str
    signal_type: str
    level: AlertLevel
    status: str
    title: str
    raised_at: datetime


class ContractAttention(ViewModel):
    """A contract that needs attention and why (missing clauses, review pending, rejected, expiring, expired)."""

    contract_id: str
    title: str
    status: str
    end_on: date | None
    days_to_expiry: int | None
    missing_clauses: list[str]
    reasons: list[str]


class RiskAccountView(ViewModel):
    """The risk section of the account overview (GET /risk/views/accounts/{account_id})."""

    account_id: str
    name: str
    tier: str | None
    credit: RiskCredit
    aging: RiskAging
    open_alerts_by_level: AlertLevelCounts
    open_alerts: list[RiskOpenAlert] = Field(description="Most severe first")
    contracts_needing_attention: list[ContractAttention]


class HeatmapCell(ViewModel):
    """Open alerts of one level on the accounts of one tier (``unassigned`` without a tier)."""

    tier: str
    level: AlertLevel
    count: int


class OverLimitAccount(ViewModel):
    """An account whose exposure is over its limit in force."""

    account_id: str
    name: str
    tier: str | None
    currency: str
    effective_limit: MoneyStr
    exposure: MoneyStr
    utilisation_pct: MoneyStr | None
    conversions: list[FxConversion] = Field(default_factory=list)


class TopRisk(ViewModel):
    """An account with open alerts, ranked by its red, then orange, yellow and green counts."""

    account_id: str
    name: str
    tier: str | None
    grade: CreditGrade | None
    highest_level: AlertLevel
    open_alerts: int
    open_alerts_by_level: AlertLevelCounts


class RiskPortfolioView(ViewModel):
    """The risk section of the portfolio board (GET /risk/views/portfolio)."""

    heatmap: list[HeatmapCell] = Field(description="Tiers with open alerts × every level, tiers in order")
    levels: list[AlertLevel]
    grades: GradeCounts
    over_limit: list[OverLimitAccount] = Field(description="Highest utilisation first")
    top_risks: list[TopRisk] = Field(description="At most 10")
    blocked_orders: int
    open_alerts: int
