"""Request and response bodies of the early-warning API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.risk.schemas import ReadModel
from shared.api import MoneyStr
from shared.vocabulary import AlertLevel


class ConditionBody(BaseModel):
    operator: Literal["gt", "gte", "lt", "lte", "eq"]
    threshold: Decimal
    level: AlertLevel


class RulePut(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    signal_type: str
    conditions: list[ConditionBody] = Field(min_length=1)
    enabled: bool = True


class RuleRead(ReadModel):
    code: str
    name: str
    signal_type: str
    conditions: list[dict[str, Any]]
    enabled: bool
    version: int
    updated_at: datetime


class PlanStep(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    owner: str = Field(
        default="account_owner",
        description="account_owner, a role (risk_officer, supervisor, account_manager) or a user id",
    )
    due_in_days: int = Field(default=7, ge=0, le=365)


class PlanTemplatePut(BaseModel):
    steps: list[PlanStep] = Field(min_length=1)


class PlanTemplateRead(ReadModel):
    signal_type: str
    steps: list[dict[str, Any]]
    version: int
    updated_at: datetime


class SignalCreate(BaseModel):
    signal_type: Literal["financial_deterioration"] = "financial_deterioration"
    value: Decimal = Field(ge=1, le=5, description="Severity 1 (mild) … 5 (critical)")
    title: str = Field(min_length=1, max_length=300)
    reference: str | None = Field(default=None, max_length=150, description="e.g. the report it comes from")
    details: dict[str, Any] = Field(default_factory=dict)


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
    owner_role: str | None
    due_at: datetime
    status: str
    done_at: datetime | None
    done_by: str | None


class AlertRead(ReadModel):
    id: str
    account_id: str
    rule_code: str
    signal_type: str
    level: str
    status: str
    title: str
    signal_count: int
    raised_at: datetime
    last_signal_at: datetime
    acknowledged_at: datetime | None
    mitigating_at: datetime | None
    cleared_at: datetime | None
    updated_by: str | None
    note: str | None
    version: int


class AlertDetail(AlertRead):
    action_items: list[ActionItemRead] = Field(default_factory=list)


class AlertTransition(BaseModel):
    status: Literal["acknowledged", "mitigating", "cleared"]
    note: str | None = Field(default=None, max_length=2000)


class PolicyCreate(BaseModel):
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
