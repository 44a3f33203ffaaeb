"""Request and response bodies of the risk API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.api import MoneyStr

Currency = Field(default="CNY", pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
PositiveMoney = Field(gt=0, max_digits=16, decimal_places=4)


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# ---------------------------------------------------------------- credit


class AssessmentCreate(BaseModel):
    """Scorecard inputs; payment behaviour left out is derived from the account's receivables."""

    days_sales_outstanding: Decimal | None = Field(default=None, ge=0)
    days_past_due: Decimal | None = Field(default=None, ge=0)
    overdue_ratio: Decimal | None = Field(default=None, ge=0, le=1)
    revenue_trend: Decimal | None = Field(default=None, description="Year-over-year change, 0.12 = +12 %")
    debt_ratio: Decimal | None = Field(default=None, ge=0)
    operating_cash_flow_margin: Decimal | None = Field(default=None, description="Operating cash flow ÷ revenue")
    external_rating: str | None = Field(default=None, max_length=5, description="AAA … D")


class AssessmentRead(_Read):
    id: str
    account_id: str
    score: MoneyStr
    grade: str
    risk_class: str
    inputs: dict[str, Any]
    breakdown: dict[str, Any]
    scorecard_version: int
    assessed_by: str
    assessed_at: datetime


class ProfileRead(BaseModel):
    account_id: str
    name: str
    tier: str | None
    industry: str | None
    currency: str
    credit_limit: MoneyStr | None
    temporary_limit: MoneyStr | None
    temporary_limit_expires_on: date | None
    effective_limit: MoneyStr | None
    score: MoneyStr | None
    grade: str | None
    risk_class: str | None
    assessed_at: datetime | None
    version: int


class LimitRequestCreate(BaseModel):
    kind: Literal["permanent", "temporary"] = "permanent"
    requested_limit: Decimal = Field(ge=0, max_digits=16, decimal_places=4)
    currency: str = Currency
    expires_on: date | None = Field(default=None, description="Required for a temporary limit")
    reason: str = Field(min_length=1, max_length=2000)


class LimitDecision(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class LimitRequestRead(_Read):
    id: str
    account_id: str
    kind: str
    requested_limit: MoneyStr
    previous_limit: MoneyStr | None
    currency: str
    expires_on: date | None
    reason: str
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


class ScorecardPut(BaseModel):
    factors: list[dict[str, Any]] = Field(min_length=1)
    grade_cutoffs: list[dict[str, Any]] = Field(min_length=5, max_length=5)


# ---------------------------------------------------------------- exposure


class InvoiceCreate(BaseModel):
    number: str = Field(min_length=1, max_length=100)
    amount: Decimal = PositiveMoney
    paid_amount: Decimal = Field(default=Decimal(0), ge=0, max_digits=16, decimal_places=4)
    currency: str = Currency
    issued_on: date
    due_on: date


class InvoiceImportRow(InvoiceCreate):
    account_id: str = Field(min_length=1, max_length=36)


class InvoiceImport(BaseModel):
    """A batch of receivables from an ERP or finance system; all or nothing."""

    invoices: list[InvoiceImportRow] = Field(min_length=1, max_length=1000)


class InvoiceImportResult(BaseModel):
    imported: int
    accounts: int


class InvoiceRead(_Read):
    id: str
    account_id: str
    number: str
    amount: MoneyStr
    paid_amount: MoneyStr
    outstanding: MoneyStr
    currency: str
    issued_on: date
    due_on: date
    days_past_due: int
    bucket: str


class PaymentCreate(BaseModel):
    amount: Decimal = PositiveMoney
    paid_on: date


class ExposureRead(BaseModel):
    account_id: str
    currency: str
    credit_limit: MoneyStr | None
    temporary_limit: MoneyStr | None
    temporary_limit_expires_on: date | None
    effective_limit: MoneyStr | None
    receivables: MoneyStr
    open_orders: MoneyStr
    exposure: MoneyStr
    utilisation_pct: MoneyStr | None
    over_limit: bool
    aging: dict[str, MoneyStr] = Field(description="current, 1_30, 31_60, 61_90, over_90, overdue")


class CreditCheckCreate(BaseModel):
    amount: Decimal = PositiveMoney
    currency: str = Currency
    order_reference: str = Field(default="", max_length=100)
    expected_on: date | None = Field(default=None, description="When the order is expected to be invoiced")
    horizon: date | None = Field(default=None, description="Dynamic check: count open orders expected by this date")
    record: bool = Field(default=True, description="Keep the order (blocked orders wait for release)")


class Reason(BaseModel):
    code: str
    message: str


class CreditCheckRead(BaseModel):
    account_id: str
    decision: Literal["pass", "warn", "block"]
    reasons: list[Reason]
    amount: MoneyStr
    currency: str
    limit: MoneyStr | None
    static_exposure: MoneyStr
    dynamic_exposure: MoneyStr | None
    utilisation_after_pct: MoneyStr | None
    order_id: str | None
    order_status: str | None


class OrderRead(_Read):
    id: str
    account_id: str
    reference: str
    amount: MoneyStr
    currency: str
    expected_on: date | None
    status: str
    decision: str
    reasons: list[Reason]
    checked_by: str
    checked_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None


class OrderRelease(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


# ---------------------------------------------------------------- signals, rules, alerts, plans

Level = Literal["green", "yellow", "orange", "red"]


class ConditionBody(BaseModel):
    operator: Literal["gt", "gte", "lt", "lte", "eq"]
    threshold: Decimal
    level: Level


class RulePut(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    signal_type: str
    conditions: list[ConditionBody] = Field(min_length=1)
    enabled: bool = True


class RuleRead(_Read):
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


class PlanTemplateRead(_Read):
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


class SignalRead(_Read):
    id: str
    account_id: str
    signal_type: str
    value: MoneyStr
    source: str
    source_ref: str
    title: str
    details: dict[str, Any]
    observed_at: datetime


class ActionItemRead(_Read):
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


class AlertRead(_Read):
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


class PolicyRead(_Read):
    id: str
    industry: str
    title: str
    description: str
    impact: int
    effective_on: date | None
    created_by: str
    created_at: datetime
    accounts_affected: int = 0


# ---------------------------------------------------------------- contracts

ContractType = Literal["framework", "sales", "service", "supply", "nda", "other"]


class ContractCreate(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    contract_type: ContractType = "sales"
    value: Decimal | None = Field(default=None, ge=0, max_digits=16, decimal_places=4)
    currency: str = Currency
    start_on: date
    end_on: date | None = None
    auto_renewal: bool = False
    clauses: dict[str, bool] = Field(default_factory=dict, description="Checklist: clause code → present")


class ContractUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    contract_type: ContractType | None = None
    value: Decimal | None = Field(default=None, ge=0, max_digits=16, decimal_places=4)
    start_on: date | None = None
    end_on: date | None = None
    auto_renewal: bool | None = None
    clauses: dict[str, bool] | None = None


class ContractTransition(BaseModel):
    status: Literal["legal_review", "approved", "rejected", "draft"]
    note: str = Field(default="", max_length=5000)


class ContractReviewRead(_Read):
    from_status: str
    to_status: str
    reviewer_id: str
    note: str
    at: datetime


class ContractReminderRead(_Read):
    days_before: int
    due_on: date
    sent_at: datetime


class ContractRead(_Read):
    id: str
    account_id: str
    title: str
    contract_type: str
    value: MoneyStr | None
    currency: str
    start_on: date
    end_on: date | None
    auto_renewal: bool
    clauses: dict[str, bool]
    missing_mandatory_clauses: list[str]
    status: str
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class ContractDetail(ContractRead):
    reviews: list[ContractReviewRead] = Field(default_factory=list)
    reminders: list[ContractReminderRead] = Field(default_factory=list)
