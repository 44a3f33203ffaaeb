"""Request and response models of the targets sub-domain."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from services.goals.money import MoneyStr, RateStr
from shared.api import RequestBody
from shared.money import MAX_DIGITS, Amount, CurrencyCode, NonNegativeAmount

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
TargetStatus = Literal["draft", "approved", "cancelled"]
TargetScope = Literal["account", "team"]
PeriodKind = Literal["year", "quarter", "month"]
SplitBy = Literal["period", "product_line"]
SplitMethod = Literal["even", "seasonal", "manual"]
# seasonal / run_rate: extrapolated; actual: over (or not extrapolable); plan: not started yet (the target value);
# parts: the roll-up of the period parts (Σ actual of the parts that are over + forecast of the others).
ForecastMethod = Literal["seasonal", "run_rate", "actual", "plan", "parts"]
UnmatchedItems = Literal["refuse", "parent"]
PartKey = Annotated[str, Field(min_length=1, max_length=100)]
Weight = Annotated[Decimal, Field(max_digits=MAX_DIGITS, decimal_places=4, allow_inf_nan=False)]


class TargetCreate(RequestBody):
    """A new target: for an account (``account_id``) or an account manager's team (``owner_id``)."""

    account_id: str | None = Field(default=None, min_length=1, max_length=36)
    owner_id: str | None = Field(
        default=None, min_length=1, max_length=100, description="team target of this account manager"
    )
    metric: Metric
    custom_metric: str | None = Field(default=None, max_length=100, description="name, when metric is custom")
    period: str = Field(max_length=10, examples=["2026", "2026-Q1", "2026-03"])
    product_line: str | None = Field(default=None, min_length=1, max_length=100)
    target_value: NonNegativeAmount
    stretch_value: NonNegativeAmount | None = None
    currency: CurrencyCode | None = Field(
        default=None,
        description="revenue and gross profit: the currency of the values (default: the account's reporting "
        "currency; another one is converted with the latest rate on or before today)",
    )
    note: str | None = Field(default=None, max_length=4000)


class TargetBatch(RequestBody):
    """Several targets set together (e.g. the year's targets of the whole portfolio), optionally approved."""

    targets: list[TargetCreate] = Field(min_length=1, max_length=500)
    approve: bool = Field(default=False, description="approve them at once (supervisor or admin)")


class TargetUpdate(RequestBody):
    """Changes to a target (send ``If-Match`` with its ETag); values are in the target's currency."""

    target_value: NonNegativeAmount | None = None
    stretch_value: NonNegativeAmount | None = None
    manual_actual: Amount | None = None
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


class TargetConversionRead(BaseModel):
    """A target given in another currency than its account reports in: what was given, and the rate used."""

    currency: str
    target_value: MoneyStr
    stretch_value: MoneyStr | None
    rate: RateStr
    rate_valid_on: date


class TrackingRead(BaseModel):
    """Attainment, forecast to period end and gap."""

    actual: MoneyStr | None
    forecast: MoneyStr | None
    forecast_method: ForecastMethod | None
    run_rate_forecast: MoneyStr | None
    seasonal_forecast: MoneyStr | None
    attainment_pct: MoneyStr | None
    forecast_attainment_pct: MoneyStr | None
    gap: MoneyStr | None
    elapsed_months: MoneyStr


class TargetRead(BaseModel):
    """A target with where it stands."""

    id: str
    scope: TargetScope
    account_id: str | None
    owner_id: str | None
    metric: Metric
    custom_metric: str | None
    unit: str
    period: str
    period_kind: PeriodKind
    product_line: str | None
    parent_id: str | None
    split_by: SplitBy | None
    split_method: SplitMethod | None
    target_value: MoneyStr
    stretch_value: MoneyStr | None
    currency: str
    conversion: TargetConversionRead | None = None
    status: TargetStatus
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    manual_actual: MoneyStr | None
    note: str | None
    at_risk: bool
    achieved: bool
    missed: bool = Field(default=False, description="The period ended without the target achieved")
    red_alert: bool = False
    created_by: str
    approved_by: str | None
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    tracking: TrackingRead | None = None
    action_completion_pct: MoneyStr | None = None


class SplitRequest(RequestBody):
    """Split a target over sub-periods (``by=period``) or product lines (``by=product_line``)."""

    by: SplitBy = "period"
    into: Literal["quarters", "months"] = Field(default="quarters", description="for by=period")
    method: SplitMethod = "even"
    template: str | None = Field(default=None, max_length=100, description="seasonal template name (settings)")
    weights: list[Weight] | None = Field(default=None, max_length=100, description="seasonal weights, one per part")
    parts: dict[PartKey, Amount] | None = Field(
        default=None, max_length=100, description="manual: part key → value (in the target's currency)"
    )
    product_lines: list[PartKey] | None = Field(
        default=None, max_length=100, description="for by=product_line with even/seasonal"
    )
    unmatched_items: UnmatchedItems = Field(
        default="refuse",
        description="action items of current parts no new part covers (same product line, period within): refuse "
        "the split (409 naming them) or move them to the split target (parent)",
    )


class TargetCancel(RequestBody):
    """Why an approved target is cancelled (kept on the target and in the audit log)."""

    reason: str = Field(min_length=1, max_length=4000)


class RollupRead(BaseModel):
    """A parent target and the sum of its children."""

    target_id: str
    currency: str
    target_value: MoneyStr
    children_sum: MoneyStr
    consistent: bool
    children: list[TargetRead]


class TeamTargetRow(BaseModel):
    """An account manager's team target for one metric: explicit, rolled up from accounts, and effective."""

    owner_id: str
    metric: Metric
    period: str
    explicit: MoneyStr | None
    explicit_target_id: str | None
    rolled_up: MoneyStr
    accounts: int
    effective: MoneyStr
    currency: str | None  # of every figure of the row (never a sum across currencies)
    source: Literal["explicit", "rolled_up"]
