"""Request and response bodies of the credit API (requests refuse unknown fields; money is bounded)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from services.risk.credit.exposure import Decision
from services.risk.credit.scorecard import Direction
from services.risk.schemas import ConversionRead, PositiveAmount, ReadModel
from shared.api import MoneyStr, RequestBody
from shared.money import CurrencyCode, NonNegativeAmount
from shared.vocabulary import CreditGrade

# A bounded, finite decimal that is not money (ratios, days, weights, scorecard bounds).
Ratio = Annotated[Decimal, Field(ge=-1000, le=1000, max_digits=12, decimal_places=6, allow_inf_nan=False)]
Days = Annotated[Decimal, Field(ge=0, le=36500, max_digits=10, decimal_places=4, allow_inf_nan=False)]
Bucket = Literal["current", "1_30", "31_60", "61_90", "over_90", "paid"]
OrderStatus = Literal["open", "blocked", "released", "closed"]


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
    version: int


class LimitRequestCreate(RequestBody):
    kind: Literal["permanent", "temporary"] = "permanent"
    requested_limit: NonNegativeAmount
    currency: CurrencyCode = "CNY"
    expires_on: date | None = Field(default=None, description="Required for a temporary limit")
    reason: str = Field(min_length=1, max_length=2000)
    checker_id: str | None = Field(
        default=None, min_length=1, max_length=100, description="The risk officer asked to check it (not the maker)"
    )


class LimitDecision(RequestBody):
    note: str | None = Field(default=None, max_length=2000)


class LimitRequestRead(ReadModel):
    id: str
    account_id: str
    kind: Literal["permanent", "temporary"]
    requested_limit: MoneyStr
    previous_limit: MoneyStr | None
    currency: str
    expires_on: date | None
    reason: str
    status: Literal["pending", "approved", "rejected"]
    requested_by: str
    checker_id: str | None
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


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


class PaymentCreate(RequestBody):
    amount: PositiveAmount
    currency: CurrencyCode | None = Field(default=None, description="The invoice's currency (checked when given)")
    paid_on: date


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
    reference: str
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


class OrderRelease(RequestBody):
    reason: str = Field(min_length=1, max_length=2000)
