"""Request and response models of the targets sub-domain."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.goals.money import MoneyStr

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
TargetStatus = Literal["draft", "approved"]
TargetScope = Literal["account", "team"]


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


class TargetFilters(BaseModel):
    """Which targets a list shows (every given filter must match)."""

    account_id: str | None = None
    owner_id: str | None = None
    period: str | None = None
    metric: str | None = None
    status: TargetStatus | None = None
    scope: TargetScope | None = None
    at_risk: bool | None = None
    top_level: bool = False


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
