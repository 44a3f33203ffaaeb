"""What the risk API's bodies share: the base of read models, positive amounts, FX rates and conversions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.api import MoneyStr
from shared.money import NonNegativeAmount, RateStr

# An amount that must be more than zero (invoices, payments, orders): bounded like every amount.
PositiveAmount = Annotated[NonNegativeAmount, Field(gt=0)]
# An FX rate: one unit of a currency in units of the base currency; finite, positive, at most 12 places.
RateValue = Annotated[RateStr, Field(gt=0, max_digits=24, decimal_places=12, allow_inf_nan=False, examples=["7.1234"])]


class ReadModel(BaseModel):
    """A response read from a table row's attributes."""

    model_config = ConfigDict(from_attributes=True)


class ConversionRead(ReadModel):
    """Amounts of one currency converted into the figure's currency, with the rate used and its date."""

    figure: str = Field(description="What was converted: receivables, open_orders, temporary_limit, order …")
    currency: str
    amount: MoneyStr
    rate: RateStr = Field(description="Units of the target currency per unit of ``currency``")
    rate_date: date = Field(description="The date of the rate used: the latest on or before the day converted at")
    converted_amount: MoneyStr


class CaseHistoryRead(ReadModel):
    """One step of a credit case (a limit request or an alert): who, when, from/to and the note written with it."""

    object_type: str = Field(default="", description="limit_request or alert (in the profile's combined history)")
    object_id: str = ""
    action: str = Field(
        description="submitted, first_approval, approved, rejected, withdrawn; raised, level_raised, "
        "acknowledged, mitigating, cleared, assigned"
    )
    from_state: str | None = Field(description="The status, level or owner before (null: none)")
    to_state: str | None = Field(description="The status, level or owner after")
    actor_id: str | None = Field(description="Who (null: a rule raised or escalated it; system: the service)")
    at: datetime
    note: str | None
