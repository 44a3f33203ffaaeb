"""Request and response bodies of the FX rate API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from services.risk.schemas import RateValue, ReadModel
from shared.api import RequestBody
from shared.money import CurrencyCode, RateStr


class FxRatePut(RequestBody):
    """The rate of one currency on one date: 1 unit of the currency = ``rate`` units of the base currency."""

    rate: RateValue


class FxRateRow(RequestBody):
    """One row of a bulk import (JSON or a CSV line with the same columns)."""

    currency: CurrencyCode
    valid_on: date
    rate: RateValue
    base_currency: CurrencyCode | None = Field(default=None, description="Optional; must be the base currency")


class FxRateImport(RequestBody):
    """A batch of rates (e.g. a treasury feed), all or nothing."""

    rates: list[FxRateRow] = Field(min_length=1, max_length=1000)


class FxImportResult(ReadModel):
    set: int = Field(description="Rates created or changed (each published as risk.fx_rate_set)")
    unchanged: int = Field(description="Rows equal to the stored rate (nothing to do)")


class FxRateRead(ReadModel):
    currency: str
    base_currency: str
    valid_on: date
    rate: RateStr
    version: int
    set_by: str
    set_at: datetime


class FxRateInForce(ReadModel):
    """The rate used for a business date: the latest on or before it."""

    currency: str
    base_currency: str
    on: date
    valid_on: date
    rate: RateStr


class FxRateChangeRead(ReadModel):
    id: int
    currency: str
    base_currency: str
    valid_on: date
    old_rate: RateStr | None
    new_rate: RateStr
    source: Literal["api", "import", "csv"]
    changed_by: str
    changed_at: datetime
