"""Request and response models of the catalogue."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from services.goals.money import MoneyStr
from shared.api import RequestBody
from shared.money import MAX_DIGITS

Weight = Annotated[Decimal, Field(ge=0, max_digits=MAX_DIGITS, decimal_places=4, allow_inf_nan=False)]
Source = Literal["setting", "api"]


class SeasonalTemplatePut(RequestBody):
    """A seasonal template: 12 monthly weights, first fiscal month first (not all zero)."""

    weights: list[Weight] = Field(min_length=12, max_length=12)
    description: str | None = Field(default=None, max_length=4000)

    @field_validator("weights")
    @classmethod
    def _not_all_zero(cls, weights: list[Decimal]) -> list[Decimal]:
        if not any(weights):
            raise ValueError("at least one weight must be above zero")
        return weights


class SeasonalTemplateRead(BaseModel):
    """A seasonal template in use: from the setting, or set through the API (which replaces a setting's)."""

    name: str
    weights: list[MoneyStr]
    description: str | None
    source: Source
    version: int | None  # of the API's entry (its ETag); None for a setting's


class ProductLinePut(RequestBody):
    """A product line we offer (``active``) or no longer offer."""

    description: str | None = Field(default=None, max_length=4000)
    active: bool = True


class ProductLineRead(BaseModel):
    """A product line of the catalogue: from the setting or the API, offered (``active``) or retired."""

    name: str
    description: str | None
    active: bool
    source: Source
    version: int | None
