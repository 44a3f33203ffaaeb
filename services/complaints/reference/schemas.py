"""Request and response bodies of the reference data: categories and SLA policies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.vocabulary import TierCode

# A policy's tier: one of the account tiers, or ``default`` for accounts without one.
TierName = Literal["default", TierCode]
HoursModeName = Literal["calendar", "business"]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CategoryBody(BaseModel):
    """A taxonomy entry."""

    label_zh: str = Field(min_length=1, max_length=100)
    label_en: str = Field(min_length=1, max_length=100)
    active: bool = True


class CategoryRead(_Read):
    """A taxonomy entry."""

    code: str
    label_zh: str
    label_en: str
    active: bool


class PolicyBody(BaseModel):
    """SLA targets for one tier and severity."""

    first_response_minutes: int = Field(ge=1, le=60 * 24 * 60)
    update_interval_minutes: int = Field(ge=1, le=60 * 24 * 60)
    resolution_minutes: int = Field(ge=1, le=60 * 24 * 365)
    hours_mode: HoursModeName = "calendar"
    warning_ratio: Decimal = Field(default=Decimal("0.75"), gt=0, lt=1)


class PolicyRead(_Read):
    """SLA targets of one tier and severity."""

    tier: str
    severity: str
    first_response_minutes: int
    update_interval_minutes: int
    resolution_minutes: int
    hours_mode: str
    warning_ratio: Decimal
    version: int
    updated_at: datetime
    updated_by: str | None


class PolicyUpdated(BaseModel):
    """A changed policy and how many open complaints were recomputed."""

    policy: PolicyRead
    recomputed: int
