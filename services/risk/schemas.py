"""What the risk API's bodies share: the base of read models and the currency and money fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

Currency = Field(default="CNY", pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
PositiveMoney = Field(gt=0, max_digits=16, decimal_places=4)


class ReadModel(BaseModel):
    """A response read from a table row's attributes."""

    model_config = ConfigDict(from_attributes=True)
