"""Request and response models of the actuals sub-domain: sales lines, monthly totals, import jobs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.goals.money import MoneyStr

# How an uploaded CSV is decoded (``auto``: BOM, valid UTF-8, else GBK).
ImportEncoding = Literal["auto", "utf-8", "utf-8-sig", "gbk", "gb18030"]


class SalesRecordIn(BaseModel):
    """One sales line."""

    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(min_length=1, max_length=36)
    date: date
    product_line: str = Field(min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    quantity: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=4)
    revenue: Decimal = Field(max_digits=18, decimal_places=4)
    cost: Decimal = Field(ge=0, max_digits=18, decimal_places=4)


class ActualsIn(BaseModel):
    """Sales lines recorded together (one ``goals.actuals_recorded`` per account-month touched)."""

    model_config = ConfigDict(extra="forbid")

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
    currency: str = "CNY"


class ActualsRecordedRead(BaseModel):
    """Outcome of recording sales lines."""

    recorded: int
    account_months: list[MonthTotals]


class ImportRead(BaseModel):
    """An import job and its progress."""

    batch_id: str
    status: str
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


class ImportOptions(BaseModel):
    """How an uploaded CSV is imported (the query of ``POST /goals/imports``)."""

    batch_id: str
    filename: str | None = None
    encoding: ImportEncoding = "auto"
    wait: bool = False
    restart: bool = False


class RejectionRead(BaseModel):
    """A refused row."""

    line_no: int
    reason: str
    raw: str | None
