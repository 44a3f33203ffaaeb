"""Request and response models of the goals service."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, field_validator


def cents(value: Decimal) -> Decimal:
    """Two places when exact in cents (as money is shown), else the stored four."""
    rounded = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return rounded if rounded == value else value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


# Amounts travel as decimal strings (DESIGN §4), the same whether just created or read back.
MoneyStr = Annotated[
    Decimal,
    AfterValidator(cents),
    PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json"),
]

Metric = Literal[
    "revenue",
    "gross_profit",
    "gross_margin_pct",
    "share_of_wallet",
    "market_share",
    "product_penetration",
    "new_business",
    "custom",
]
ActionStatus = Literal["open", "in_progress", "done", "cancelled"]


class TargetCreate(BaseModel):
    """A new target: for an account (``account_id``) or an account manager's team (``owner_id``)."""

    model_config = ConfigDict(extra="forbid")

    account_id: str | None = Field(default=None, max_length=36)
    owner_id: str | None = Field(default=None, max_length=100, description="team target of this account manager")
    metric: Metric
    custom_metric: str | None = Field(default=None, max_length=100, description="name, when metric is custom")
    period: str = Field(examples=["2026", "2026-Q1", "2026-03"])
    product_line: str | None = Field(default=None, max_length=100)
    target_value: Decimal = Field(ge=0, max_digits=18, decimal_places=4)
    stretch_value: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=4)
    currency: str = Field(default="CNY", min_length=3, max_length=3)
    note: str | None = Field(default=None, max_length=4000)


class TargetBatch(BaseModel):
    """Several targets set together (e.g. the year's targets of the whole portfolio), optionally approved."""

    model_config = ConfigDict(extra="forbid")

    targets: list[TargetCreate] = Field(min_length=1, max_length=500)
    approve: bool = Field(default=False, description="approve them at once (supervisor or admin)")


class TargetUpdate(BaseModel):
    """Changes to a target (send ``If-Match`` with its ETag)."""

    model_config = ConfigDict(extra="forbid")

    target_value: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=4)
    stretch_value: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=4)
    manual_actual: Decimal | None = Field(default=None, max_digits=18, decimal_places=4)
    note: str | None = Field(default=None, max_length=4000)


class TrackingRead(BaseModel):
    """Attainment, forecast to period end and gap."""

    actual: MoneyStr | None
    forecast: MoneyStr | None
    forecast_method: str | None
    run_rate_forecast: MoneyStr | None
    seasonal_forecast: MoneyStr | None
    attainment_pct: MoneyStr | None
    forecast_attainment_pct: MoneyStr | None
    gap: MoneyStr | None
    elapsed_months: MoneyStr


class TargetRead(BaseModel):
    """A target with where it stands."""

    id: str
    scope: str
    account_id: str | None
    owner_id: str | None
    metric: str
    custom_metric: str | None
    unit: str
    period: str
    period_kind: str
    product_line: str | None
    parent_id: str | None
    split_by: str | None
    split_method: str | None
    target_value: MoneyStr
    stretch_value: MoneyStr | None
    currency: str
    status: str
    manual_actual: MoneyStr | None
    note: str | None
    at_risk: bool
    achieved: bool
    red_alert: bool = False
    created_by: str
    approved_by: str | None
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    tracking: TrackingRead | None = None
    action_completion_pct: MoneyStr | None = None


class SplitRequest(BaseModel):
    """Split a target over sub-periods (``by=period``) or product lines (``by=product_line``)."""

    model_config = ConfigDict(extra="forbid")

    by: Literal["period", "product_line"] = "period"
    into: Literal["quarters", "months"] = Field(default="quarters", description="for by=period")
    method: Literal["even", "seasonal", "manual"] = "even"
    template: str | None = Field(default=None, description="seasonal template name (settings)")
    weights: list[Decimal] | None = Field(default=None, description="seasonal weights, one per part")
    parts: dict[str, Decimal] | None = Field(default=None, description="manual: part key → value")
    product_lines: list[str] | None = Field(default=None, description="for by=product_line with even/seasonal")


class RollupRead(BaseModel):
    """A parent target and the sum of its children."""

    target_id: str
    target_value: MoneyStr
    children_sum: MoneyStr
    consistent: bool
    children: list[TargetRead]


class TeamTargetRow(BaseModel):
    """An account manager's team target for one metric: explicit, rolled up from accounts, and effective."""

    owner_id: str
    metric: str
    period: str
    explicit: MoneyStr | None
    explicit_target_id: str | None
    rolled_up: MoneyStr
    accounts: int
    effective: MoneyStr
    source: Literal["explicit", "rolled_up"]


class ActionItemCreate(BaseModel):
    """A new action item under a target."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=4000)
    owner_id: str = Field(min_length=1, max_length=100)
    due_date: date
    expected_impact: Decimal | None = Field(default=None, max_digits=18, decimal_places=4)
    linked_metric: Metric | None = None
    status: ActionStatus = Field(default="open", description="an item may be recorded in any state")


class ActionItemUpdate(BaseModel):
    """Changes to an action item (status moves along open → in_progress → done; cancelled from any open state)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=4000)
    owner_id: str | None = Field(default=None, min_length=1, max_length=100)
    due_date: date | None = None
    status: ActionStatus | None = None
    expected_impact: Decimal | None = Field(default=None, max_digits=18, decimal_places=4)


class ActionItemRead(BaseModel):
    """An action item."""

    id: str
    target_id: str
    account_id: str | None
    title: str
    description: str | None
    owner_id: str
    due_date: date
    status: str
    overdue: bool
    expected_impact: MoneyStr | None
    linked_metric: str | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class SalesRecordIn(BaseModel):
    """One sales line."""

    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(min_length=1, max_length=36)
    date: date
    product_line: str = Field(min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    quantity: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=4)
    revenue: Decimal = Field(max_digits=18, decimal_places=4)
    cost: Decimal = Field(ge=0, max_digits=18, decimal_places=4)


class ActualsIn(BaseModel):
    """Sales lines recorded together (one ``goals.actuals_recorded`` per account-month touched)."""

    model_config = ConfigDict(extra="forbid")

    records: list[SalesRecordIn] = Field(min_length=1)

    @field_validator("records")
    @classmethod
    def _not_too_many(cls, value: list[SalesRecordIn]) -> list[SalesRecordIn]:
        if len(value) > 1000:
            raise ValueError("at most 1000 records per request; use the CSV import for more")
        return value


class MonthTotals(BaseModel):
    """An account's totals in one month."""

    account_id: str
    period: str
    revenue: MoneyStr
    cost: MoneyStr
    gross_profit: MoneyStr
    quantity: MoneyStr | None
    by_product_line: dict[str, MoneyStr]
    currency: str = "CNY"


class ActualsRecordedRead(BaseModel):
    """Outcome of recording sales lines."""

    recorded: int
    account_months: list[MonthTotals]


class ImportRead(BaseModel):
    """An import job and its progress."""

    batch_id: str
    status: str
    filename: str | None
    encoding: str | None
    total_rows: int
    rows_done: int
    accepted: int
    rejected: int
    account_months: int
    progress_pct: MoneyStr
    error: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None


class RejectionRead(BaseModel):
    """A refused row."""

    line_no: int
    reason: str
    raw: str | None


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
    metric: str
    period: str
    compare: str
    baseline_period: str | None
    current_total: MoneyStr
    baseline_total: MoneyStr
    delta: MoneyStr
    by_product_line: list[VarianceRowRead]
    by_month: list[VarianceRowRead]
    by_region: list[VarianceRowRead]


class ScoreComponentRead(BaseModel):
    """One component of a KPI score."""

    component: str
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
