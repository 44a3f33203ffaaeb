"""Request and response bodies of the credit API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.risk.credit.exposure import Decision
from services.risk.schemas import Currency, PositiveMoney, ReadModel
from shared.api import MoneyStr


class AssessmentCreate(BaseModel):
    """Scorecard inputs; payment behaviour left out is derived from the account's receivables."""

    days_sales_outstanding: Decimal | None = Field(default=None, ge=0)
    days_past_due: Decimal | None = Field(default=None, ge=0)
    overdue_ratio: Decimal | None = Field(default=None, ge=0, le=1)
    revenue_trend: Decimal | None = Field(default=None, description="Year-over-year change, 0.12 = +12 %")
    debt_ratio: Decimal | None = Field(default=None, ge=0)
    operating_cash_flow_margin: Decimal | None = Field(default=None, description="Operating cash flow ÷ revenue")
    external_rating: str | None = Field(default=None, max_length=5, description="AAA … D")


class AssessmentRead(ReadModel):
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


class LimitRequestRead(ReadModel):
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
    decision: Decision
    reasons: list[Reason]
    amount: MoneyStr
    currency: str
    limit: MoneyStr | None
    static_exposure: MoneyStr
    dynamic_exposure: MoneyStr | None
    utilisation_after_pct: MoneyStr | None
    order_id: str | None
    order_status: str | None


class OrderRead(ReadModel):
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
