"""Request and response models of the actuals sub-domain: sales lines, monthly totals, import jobs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from services.goals.currencies.schemas import ConversionRead
from services.goals.money import MoneyStr
from shared.api import RequestBody
from shared.money import Amount, CurrencyCode

# How an uploaded CSV is decoded (``auto``: BOM, valid UTF-8, else GBK).
ImportEncoding = Literal["auto", "utf-8", "utf-8-sig", "gbk", "gb18030"]
# An import's batch id: 1-100 letters, digits, ``.``, ``_``, ``:`` or ``-``.
BATCH_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,100}$"


def return_sign_problem(quantity: Decimal | None, revenue: Decimal, cost: Decimal) -> str | None:
    """Why a line's signs do not make sense, or None. A line with a negative quantity or cost is a return: its
    quantity, revenue and cost are then all zero or negative. A negative revenue alone is a credit note."""
    if (quantity is not None and quantity < 0) or cost < 0:
        if revenue > 0 or cost > 0 or (quantity is not None and quantity > 0):
            return (
                "a return has a negative quantity, revenue and cost; mixed signs "
                f"(quantity {quantity}, revenue {revenue}, cost {cost}) are refused"
            )
    return None


class SalesRecordIn(RequestBody):
    """One sales line (amounts in ``currency``, by default the account's reporting currency)."""

    account_id: str = Field(
        min_length=1, max_length=64, description="The account's id, one of its ERP codes or its credit code"
    )
    date: date
    product_line: str = Field(min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    quantity: Amount | None = Field(default=None, description="negative for a return (with negative revenue and cost)")
    revenue: Amount
    cost: Amount = Field(description="negative only for a return")
    currency: CurrencyCode | None = Field(
        default=None,
        description="default: the account's reporting currency; another one is converted with the latest rate "
        "on or before the sale date (422 without one)",
    )

    @model_validator(mode="after")
    def _a_return_is_negative_throughout(self) -> SalesRecordIn:
        problem = return_sign_problem(self.quantity, self.revenue, self.cost)
        if problem is not None:
            raise ValueError(problem)
        return self


class ActualsIn(RequestBody):
    """Sales lines recorded together (one ``goals.actuals_recorded`` per account-month touched)."""

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
    currency: str


class ConvertedLineRead(BaseModel):
    """A recorded line that was given in another currency than its account reports in."""

    index: int  # its position in ``records``
    account_id: str
    date: date
    revenue: MoneyStr
    cost: MoneyStr
    currency: str
    original_revenue: MoneyStr
    original_cost: MoneyStr
    conversion: ConversionRead


class UnknownLineFlag(BaseModel):
    """A recorded line whose product line the catalogue does not know (kept, flagged: add the line to the
    catalogue or correct the sale)."""

    index: int  # its position in ``records``
    account_id: str
    product_line: str
    unknown_product_line: bool = True


class ActualsRecordedRead(BaseModel):
    """Outcome of recording sales lines (``unknown_product_line``: some line names a product line the catalogue
    does not know; they are listed in ``unknown_product_lines``)."""

    recorded: int
    account_months: list[MonthTotals]
    converted: list[ConvertedLineRead] = Field(default_factory=list)
    unknown_product_line: bool = False
    unknown_product_lines: list[UnknownLineFlag] = Field(default_factory=list)


class CurrencyAmount(BaseModel):
    """An amount in one currency."""

    currency: str
    amount: MoneyStr


class UnknownProductLineRead(BaseModel):
    """A product line found in the visible sales that the catalogue does not know."""

    product_line: str
    accounts: int
    sales_lines: int
    first_month: str
    last_month: str
    revenue: list[CurrencyAmount]  # per reporting currency, never added across currencies


ImportStatus = Literal["running", "completed", "failed", "voided"]


class ImportWarning(BaseModel):
    """Something imported all the same that deserves a look: a product line the catalogue does not name."""

    product_line: str
    rows: int
    message: str


class ImportRead(BaseModel):
    """An import job and its progress."""

    batch_id: str
    status: ImportStatus
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
    voided_at: datetime | None = None
    voided_by: str | None = None
    void_reason: str | None = None
    warnings: list[ImportWarning] = Field(default_factory=list)

    @field_validator("warnings", mode="before")
    @classmethod
    def _none_is_no_warnings(cls, value: object) -> object:
        return [] if value is None else value


class ImportOptions(RequestBody):
    """How an uploaded CSV is imported (the query of ``POST /goals/imports``)."""

    batch_id: str = Field(max_length=100)
    filename: str | None = Field(default=None, max_length=300)
    encoding: ImportEncoding = "auto"
    wait: bool = False
    restart: bool = False
    allow_duplicate: bool = False
    columns: dict[str, str] = Field(default_factory=dict)  # the file's own header → column name


class VoidIn(RequestBody):
    """Why sales are voided (kept with the batch and in the event)."""

    reason: str = Field(min_length=1, max_length=500)


class SalesLinesVoidIn(VoidIn):
    """Sales lines to void together (all or none)."""

    line_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(min_length=1, max_length=1000)


class SalesLineRead(BaseModel):
    """One stored sales line (in its account's reporting currency; ``original_*`` when given in another)."""

    id: int
    account_id: str
    sale_date: date
    month: str
    product_line: str
    region: str | None
    quantity: MoneyStr | None
    revenue: MoneyStr
    cost: MoneyStr
    currency: str
    original_currency: str | None
    original_revenue: MoneyStr | None
    batch_id: str | None
    line_no: int | None


class VoidRead(BaseModel):
    """What a void took off, and the account-months' totals after it."""

    voided: int
    account_months: list[MonthTotals]


class RejectionRead(BaseModel):
    """A refused row."""

    line_no: int
    reason: str
    raw: str | None
