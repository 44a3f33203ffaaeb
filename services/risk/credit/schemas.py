"""Request and response bodies of the credit API (requests refuse unknown fields; money is bounded)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from services.risk.credit.exposure import Decision
from services.risk.credit.scorecard import Direction
from services.risk.schemas import CaseHistoryRead, ConversionRead, PositiveAmount, ReadModel
from shared.api import MoneyStr, RequestBody
from shared.money import CurrencyCode, NonNegativeAmount
from shared.vocabulary import CreditGrade

# A bounded, finite decimal that is not money (ratios, days, weights, scorecard bounds).
Ratio = Annotated[Decimal, Field(ge=-1000, le=1000, max_digits=12, decimal_places=6, allow_inf_nan=False)]
Days = Annotated[Decimal, Field(ge=0, le=36500, max_digits=10, decimal_places=4, allow_inf_nan=False)]
Bucket = Literal["current", "1_30", "31_60", "61_90", "over_90", "paid", "cancelled"]
OrderStatus = Literal["open", "blocked", "released", "rejected", "cancelled", "closed"]
InvoiceStatus = Literal["open", "cancelled"]
DisputeStatus = Literal["open", "resolved"]


class AssessmentCreate(RequestBody):
    """Scorecard inputs; payment behaviour left out is derived from the account's receivables."""

    days_sales_outstanding: Days | None = None
    days_past_due: Days | None = None
    overdue_ratio: Annotated[Ratio, Field(ge=0, le=1)] | None = None
    revenue_trend: Ratio | None = Field(default=None, description="Year-over-year change, 0.12 = +12 %")
    debt_ratio: Annotated[Ratio, Field(ge=0)] | None = None
    operating_cash_flow_margin: Ratio | None = Field(default=None, description="Operating cash flow ÷ revenue")
    external_rating: str | None = Field(default=None, max_length=5, description="AAA … D")


class AssessmentRead(ReadModel):
    id: str
    account_id: str
    score: MoneyStr
    grade: CreditGrade
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
    temporary_limit_currency: str | None
    temporary_limit_expires_on: date | None
    effective_limit: MoneyStr | None = Field(description="The limit in force, in ``currency``")
    conversions: list[ConversionRead] = Field(description="The temporary limit converted into ``currency``, if so")
    score: MoneyStr | None
    grade: CreditGrade | None
    risk_class: str | None
    assessed_at: datetime | None
    group_credit_limit: MoneyStr | None = Field(default=None, description="The limit of the group this account heads")
    group_limit_currency: str | None = None
    version: int
    review_on: date | None = Field(default=None, description="The periodic review date (from the grade)")
    suggested_limit: MoneyStr | None = Field(default=None, description="What the policy table suggests for the grade")
    suggested_limit_currency: str | None = None
    history: list[CaseHistoryRead] = Field(
        default_factory=list, description="The latest 50 steps of its limit requests and alerts, newest first"
    )


class LimitRequestCreate(RequestBody):
    kind: Literal["permanent", "temporary", "group"] = Field(
        default="permanent", description="``group``: the limit of the group this account heads, over its subsidiaries"
    )
    requested_limit: NonNegativeAmount
    currency: CurrencyCode = "CNY"
    expires_on: date | None = Field(default=None, description="Required for a temporary limit")
    reason: str = Field(min_length=1, max_length=2000)
    checker_id: str | None = Field(
        default=None, min_length=1, max_length=100, description="The risk officer asked to check it (not the maker)"
    )


class LimitDecision(RequestBody):
    note: str | None = Field(default=None, max_length=2000)


class ApprovalStep(BaseModel):
    """An approval a limit request still waits for."""

    step: int = Field(description="1: the first (or only) approval; 2: the second one above the threshold")
    roles: list[str] = Field(description="Roles that may give it")
    checker_id: str | None = Field(description="The named checker who alone may give it, if any")
    excluded: list[str] = Field(description="Who may not give it (four eyes: the maker, the first approver)")


class LimitRequestRead(ReadModel):
    id: str
    account_id: str
    kind: Literal["permanent", "temporary", "group"]
    requested_limit: MoneyStr
    previous_limit: MoneyStr | None
    currency: str
    expires_on: date | None
    reason: str
    status: Literal["pending", "approved", "rejected", "withdrawn"]
    requested_by: str
    checker_id: str | None
    requested_at: datetime
    decided_by: str | None = Field(description="Who approved (the second approver), rejected or withdrew it")
    decided_at: datetime | None
    decision_note: str | None
    approvals_required: int = Field(default=1, description="2 above the approval threshold (four eyes)")
    threshold_amount: MoneyStr | None = None
    threshold_currency: str | None = None
    first_approved_by: str | None = None
    first_approved_at: datetime | None = None
    approvals_needed: list[ApprovalStep] = Field(default_factory=list, description="Empty once decided")
    suggested_limit: MoneyStr | None = Field(default=None, description="Suggested for the grade when it was filed")
    suggested_limit_currency: str | None = None


class LimitRequestDetail(LimitRequestRead):
    history: list[CaseHistoryRead] = Field(default_factory=list, description="Every step of its case, oldest first")


class DueReviewRead(ReadModel):
    account_id: str
    name: str
    owner_id: str | None
    grade: CreditGrade | None
    risk_class: str | None
    assessed_at: datetime | None
    review_on: date
    overdue_days: int = Field(description="Days past the review date (negative: due in that many days)")


class BandBody(RequestBody):
    bound: Annotated[Decimal, Field(ge=-1_000_000, le=1_000_000, max_digits=14, decimal_places=6, allow_inf_nan=False)]
    points: int = Field(ge=0, le=100)


class FactorBody(RequestBody):
    name: str = Field(min_length=1, max_length=60)
    weight: Annotated[Decimal, Field(ge=0, le=1000, max_digits=10, decimal_places=4, allow_inf_nan=False)]
    direction: Direction
    bands: list[BandBody] = Field(default_factory=list, max_length=20)
    floor_points: int = Field(default=0, ge=0, le=100)


class GradeCutoffBody(RequestBody):
    grade: CreditGrade
    min_score: Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4, allow_inf_nan=False)]


class ScorecardPut(RequestBody):
    factors: list[FactorBody] = Field(min_length=1, max_length=20)
    grade_cutoffs: list[GradeCutoffBody] = Field(min_length=5, max_length=5)


class InvoiceCreate(RequestBody):
    number: str = Field(min_length=1, max_length=100)
    amount: PositiveAmount
    paid_amount: NonNegativeAmount = Decimal(0)
    currency: CurrencyCode = "CNY"
    issued_on: date
    due_on: date


class InvoiceImportRow(InvoiceCreate):
    account_id: str = Field(min_length=1, max_length=36)


class InvoiceImport(RequestBody):
    """A batch of receivables from an ERP or finance system; all or nothing."""

    invoices: list[InvoiceImportRow] = Field(min_length=1, max_length=1000)


class InvoiceImportResult(BaseModel):
    imported: int
    accounts: int


class InvoiceRead(ReadModel):
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
    bucket: Bucket
    status: InvoiceStatus = "open"
    credited_amount: MoneyStr = Decimal(0)
    dispute_status: DisputeStatus | None = None
    dispute_reason: str | None = None
    dunning_level: int = Field(default=0, description="By days past due (0: not dunned — not overdue, or disputed)")


class PaymentCreate(RequestBody):
    amount: PositiveAmount
    currency: CurrencyCode | None = Field(default=None, description="The invoice's currency (checked when given)")
    paid_on: date


class PaymentRead(ReadModel):
    id: str
    invoice_id: str
    amount: MoneyStr
    paid_on: date
    recorded_by: str
    recorded_at: datetime
    reversed_by: str | None
    reversed_at: datetime | None
    reversal_reason: str | None


class ActionReason(RequestBody):
    """Why: kept with the change and in the audit log."""

    reason: str = Field(min_length=1, max_length=2000)


class DisputeResolution(RequestBody):
    resolution: str = Field(min_length=1, max_length=2000)


class CreditNoteCreate(RequestBody):
    number: str = Field(min_length=1, max_length=100)
    amount: PositiveAmount
    currency: CurrencyCode | None = Field(default=None, description="The invoice's currency (checked when given)")
    issued_on: date
    reason: str = Field(min_length=1, max_length=2000)


class CreditNoteRead(ReadModel):
    id: str
    invoice_id: str
    account_id: str
    number: str
    amount: MoneyStr
    currency: str
    issued_on: date
    reason: str
    created_by: str
    created_at: datetime


class InvoiceHistoryEntry(ReadModel):
    """One change of an invoice: who, when, what (the audit log's entry)."""

    at: datetime
    actor_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


class ExposureRead(BaseModel):
    account_id: str
    currency: str = Field(description="The limit's currency: every figure below is in it")
    as_of: date = Field(description="The business date the figures (aging, rates) are counted at")
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
    conversions: list[ConversionRead] = Field(description="Amounts in other currencies and the rates used")


class CreditCheckCreate(RequestBody):
    amount: PositiveAmount
    currency: CurrencyCode = "CNY"
    order_reference: str = Field(default="", max_length=100)
    expected_on: date | None = Field(default=None, description="When the order is expected to be invoiced")
    horizon: date | None = Field(default=None, description="Dynamic check: count open orders expected by this date")
    record: bool = Field(default=True, description="Keep the order (blocked orders wait for release)")


class Reason(BaseModel):
    code: str
    message: str


class CreditCheckRead(BaseModel):
    account_id: str
    decision: Decision
    reasons: list[Reason]
    amount: MoneyStr
    currency: str
    limit_currency: str = Field(description="The currency of limit, exposures and utilisation")
    amount_in_limit_currency: MoneyStr
    limit: MoneyStr | None
    static_exposure: MoneyStr
    dynamic_exposure: MoneyStr | None
    utilisation_after_pct: MoneyStr | None
    conversions: list[ConversionRead] = Field(description="Amounts in other currencies and the rates used")
    order_id: str | None
    order_status: OrderStatus | None


class OrderRead(ReadModel):
    id: str
    account_id: str
    reference: str | None
    amount: MoneyStr
    currency: str
    expected_on: date | None
    status: OrderStatus
    decision: Decision
    reasons: list[Reason]
    checked_by: str
    checked_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None
    horizon: date | None = None
    release_decision: Decision | None = Field(default=None, description="The credit check re-run at release")
    release_reasons: list[Reason] | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    close_reason: str | None = Field(default=None, description="Why it was rejected or cancelled")


class OrderRelease(RequestBody):
    reason: str = Field(min_length=1, max_length=2000)


class GroupExposureLine(BaseModel):
    """Exposure in one currency (nothing converted)."""

    currency: str
    receivables: MoneyStr
    open_orders: MoneyStr
    exposure: MoneyStr


class GroupMemberExposure(BaseModel):
    account_id: str
    name: str | None
    parent_account_id: str | None
    exposure: list[GroupExposureLine]


class GroupExposureRead(BaseModel):
    """A group's exposure over itself and every subsidiary: per currency, and against the group limit."""

    account_id: str
    name: str | None
    as_of: date = Field(description="The business date the balances and rates are counted at")
    exposure: list[GroupExposureLine] = Field(description="Σ over the group and its subsidiaries, per currency")
    members: list[GroupMemberExposure] = Field(description="The group, then the subsidiaries the caller sees")
    members_not_shown: int = Field(description="Subsidiaries the caller may not see (counted in the sums)")
    group_limit: MoneyStr | None
    group_limit_currency: str | None
    exposure_in_limit_currency: MoneyStr | None
    utilisation_pct: MoneyStr | None
    over_limit: bool
    conversions: list[ConversionRead] = Field(description="The per-currency sums converted into the limit's currency")
