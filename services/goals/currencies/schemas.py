"""Request and response models of the currencies sub-domain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from services.goals.money import RateStr
from shared.api import RequestBody
from shared.money import CurrencyCode


class ReportingCurrencySet(RequestBody):
    """The currency an account's targets and actuals are kept in (only while it has none)."""

    currency: CurrencyCode


class ReportingCurrencyRead(BaseModel):
    """An account's reporting currency and where it comes from (the goals setting or the account's own)."""

    account_id: str
    currency: str
    source: Literal["setting", "account"]
    set_by: str | None = None
    set_at: datetime | None = None


class FxRateRead(BaseModel):
    """A dated rate as goals keeps it: 1 ``currency`` = ``rate`` ``base_currency`` from ``valid_on``."""

    currency: str
    base_currency: str
    rate: RateStr
    valid_on: date


class ConversionRead(BaseModel):
    """How an amount given in another currency was converted into the reporting currency."""

    from_currency: str
    to_currency: str
    rate: RateStr
    rate_valid_on: date
