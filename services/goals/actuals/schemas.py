"""Request and response models of the actuals sub-domain: sales lines, monthly totals, import jobs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from services.goals.currencies.schemas import ConversionRead
from services.goals.money import MoneyStr
from shared.api import RequestBody
from shared.money import Amount, CurrencyCode, NonNegativeAmount

# How an uploaded CSV is decoded (``auto``: BOM, valid UTF-8, else GBK).
ImportEncoding = Literal["auto", "utf-8", "utf-8-sig", "gbk", "gb18030"]
# An import's batch id: 1-100 letters, digits, ``.``, ``_``, ``:`` or ``-``.
BATCH_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,100}$"


class SalesRecordIn(RequestBody):
    """One sales line (amounts in ``currency``, by default the account's reporting currency)."""

    account_id: str = Field(min_length=1, max_length=36)
    date: date
    product_line: str = Field(min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    quantity: NonNegativeAmount | None = None
    revenue: Amount
    cost: NonNegativeAmount
    currency: CurrencyCode | None = Field(
        default=None,
        description="default: the account's reporting currency; another one is converted with the latest rate "
        "on or before the sale date (422 without one)",
    )


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


class ActualsRecordedRead(BaseModel):
    """Outcome of recording sales lines."""

    recorded: int
    account_months: list[MonthTotals]
    converted: list[ConvertedLineRead] = Field(default_factory=list)


ImportStatus = Literal["running", "completed", "failed"]


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


class ImportOptions(RequestBody):
    """How an uploaded CSV is imported (the query of ``POST /goals/imports``)."""

    batch_id: str = Field(max_length=100)
    filename: str | None = Field(default=None, max_length=300)
    encoding: ImportEncoding = "auto"
    wait: bool = False
    restart: bool = False


class RejectionRead(BaseModel):
    """A refused row."""

    line_no: int
    reason: str
    raw: str | None
