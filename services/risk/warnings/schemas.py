"""Request and response bodies of the early-warning API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from services.risk.schemas import CaseHistoryRead, ReadModel
from shared.api import Instant, MoneyStr, RequestBody
from shared.vocabulary import AlertLevel

AlertStatus = Literal["raised", "acknowledged", "mitigating", "cleared"]
ItemStatus = Literal["open", "done"]
QueueRole = Literal["risk_officer", "supervisor", "account_manager"]
Threshold = Annotated[Decimal, Field(ge=-1_000_000, le=1_000_000, max_digits=14, decimal_places=4, allow_inf_nan=False)]
DetailKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
DetailValue = (
    Annotated[str, StringConstraints(max_length=2000)]
    | Annotated[int, Field(ge=-(10**15), le=10**15)]
    | Annotated[float, Field(ge=-1e15, le=1e15, allow_inf_nan=False)]
    | bool
    | None
)


class ConditionBody(RequestBody):
    operator: Literal["gt", "gte", "lt", "lte", "eq"]
    threshold: Threshold
    level: AlertLevel


class RulePut(RequestBody):
    name: str = Field(min_length=1, max_length=200)
    signal_type: str = Field(min_length=1, max_length=40)
    conditions: list[ConditionBody] = Field(min_length=1, max_length=20)
    enabled: bool = True
    min_amount: Decimal | None = Field(
        default=None,
        ge=0,
        le=10**12,
        max_digits=18,
        decimal_places=4,
        allow_inf_nan=False,
        description="sales_drop: the least the comparison base must be, in CNY, for a drop to count (null: none)",
    )


class RuleRead(ReadModel):
    code: str
    name: str
    signal_type: str
    conditions: list[dict[str, Any]]
    enabled: bool
    version: int
    updated_at: datetime
    min_amount: MoneyStr | None = None


class PlanStep(RequestBody):
    title: str = Field(min_length=1, max_length=300)
    owner: str = Field(
        default="account_owner",
        min_length=1,
        max_length=100,
        description="account_owner, a role (risk_officer, supervisor, account_manager) or the id of a known, "
        "active user with a working role",
    )
    due_in_days: int = Field(default=7, ge=0, le=365)
    level: AlertLevel | None = Field(
        default=None,
        description="Added once the alert reaches this level (null: a step of every new alert of the type)",
    )


class PlanTemplatePut(RequestBody):
    steps: list[PlanStep] = Field(min_length=1, max_length=30)


class PlanTemplateRead(ReadModel):
    signal_type: str
    steps: list[dict[str, Any]]
    version: int
    updated_at: datetime


class SignalCreate(RequestBody):
    signal_type: Literal["financial_deterioration"] = "financial_deterioration"
    value: Decimal = Field(
        ge=1, le=5, max_digits=6, decimal_places=4, allow_inf_nan=False, description="Severity 1 (mild) … 5 (critical)"
    )
    title: str = Field(min_length=1, max_length=300)
    reference: str | None = Field(default=None, max_length=150, description="e.g. the report it comes from")
    observed_at: Instant | None = Field(
        default=None, description="When the fact was observed (with an offset; default now, never in the future)"
    )
    details: dict[DetailKey, DetailValue] = Field(default_factory=dict, max_length=50)


class SignalRead(ReadModel):
    id: str
    account_id: str
    signal_type: str
    value: MoneyStr
    source: str
    source_ref: str
    title: str
    details: dict[str, Any]
    observed_at: datetime


class ActionItemRead(ReadModel):
    id: str
    alert_id: str
    account_id: str
    title: str
    owner_id: str | None
    owner_role: QueueRole | None
    due_at: datetime
    status: ItemStatus
    done_at: datetime | None
    done_by: str | None
    outcome: str | None = None
    version: int


class ActionItemComplete(RequestBody):
    """Completing a plan step: what was done (optional; shown with the step and its alert)."""

    outcome: str | None = Field(default=None, min_length=1, max_length=2000, description="What was done")


class ActionItemUpdate(RequestBody):
    """Reassign a plan step (to a person or a role's queue) or move its due time; If-Match on ``version``."""

    owner_id: str | None = Field(
        default=None, min_length=1, max_length=100, description="A known, active worker who sees the account"
    )
    owner_role: QueueRole | None = Field(default=None, description="Put it in a role's queue instead")
    due_at: Instant | None = Field(default=None, description="The new due time (with an offset)")


class AlertUpdate(RequestBody):
    """Give an alert an owner (a known, active worker who sees the account) or none; If-Match on ``version``."""

    owner_id: str | None = Field(min_length=1, max_length=100)


class AlertRead(ReadModel):
    id: str
    account_id: str
    rule_code: str
    signal_type: str
    level: AlertLevel
    status: AlertStatus
    title: str
    owner_id: str | None
    signal_count: int
    raised_at: datetime
    last_signal_at: datetime
    acknowledged_at: datetime | None
    mitigating_at: datetime | None
    cleared_at: datetime | None
    updated_by: str | None
    note: str | None
    version: int
    subject_id: str | None = Field(default=None, description="What it is about below the account (contract id)")
    reopened_at: datetime | None = None
    clear_proposed_at: datetime | None = Field(default=None, description="The cause is gone: proposed for clearing")
    clear_reason: str | None = None


class AlertDetail(AlertRead):
    action_items: list[ActionItemRead] = Field(default_factory=list)
    history: list[CaseHistoryRead] = Field(
        default_factory=list, description="Every step of the alert's case, oldest first (note: only the last one)"
    )


class AlertTransition(RequestBody):
    status: Literal["acknowledged", "mitigating", "cleared"]
    note: str | None = Field(default=None, max_length=2000)


class PolicyCreate(RequestBody):
    industry: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=5000)
    impact: int = Field(ge=1, le=5, description="1 (minor) … 5 (severe)")
    effective_on: date | None = None


class PolicyRead(ReadModel):
    id: str
    industry: str
    title: str
    description: str
    impact: int
    effective_on: date | None
    created_by: str
    created_at: datetime
    accounts_affected: int = 0
