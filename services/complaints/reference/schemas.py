"""Request and response bodies of the reference data: categories and SLA policies."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from services.complaints.calendars.schemas import CalendarWarning
from shared.api import Instant, RequestBody
from shared.vocabulary import Severity, TierCode

# A policy's tier: one of the account tiers, or ``default`` for accounts without one.
TierName = Literal["default", TierCode]
HoursModeName = Literal["calendar", "business"]
CategoryCode = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,49}$", description="Category code (snake_case)")]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CategoryBody(RequestBody):
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


class PolicyBody(RequestBody):
    """SLA targets for one tier and severity."""

    first_response_minutes: int = Field(ge=1, le=60 * 24 * 60)
    update_interval_minutes: int = Field(ge=1, le=60 * 24 * 60)
    resolution_minutes: int = Field(ge=1, le=60 * 24 * 365)
    hours_mode: HoursModeName = "calendar"
    warning_ratio: Decimal = Field(
        default=Decimal("0.75"), gt=0, lt=1, max_digits=5, decimal_places=4, allow_inf_nan=False
    )


class PolicyRead(_Read):
    """SLA targets of one tier and severity."""

    tier: TierName
    severity: Severity
    first_response_minutes: int
    update_interval_minutes: int
    resolution_minutes: int
    hours_mode: HoursModeName
    warning_ratio: Decimal
    version: int
    updated_at: datetime
    updated_by: str | None


class PolicyList(BaseModel):
    """Every policy, and the warnings about the business calendar the business-hours policies count on."""

    items: list[PolicyRead]
    sla_calendar: str
    calendar_ends_on: date | None
    calendar_days_remaining: int
    calendar_warnings: list[CalendarWarning]


class SlaPreviewBody(RequestBody):
    """A complaint that would be received at ``received_at`` on an account of ``tier`` with ``severity``."""

    tier: TierName = "default"
    severity: Severity = "medium"
    received_at: Instant = Field(description="Any instant, past or future; an offset is required")


class DeadlineRead(BaseModel):
    """When one timer warns and is due."""

    due_at: datetime | None
    warning_at: datetime | None


class SlaPreview(BaseModel):
    """When a complaint of this tier and severity received at ``received_at`` would be due, as intake computes it."""

    tier: TierName
    severity: Severity
    received_at: datetime
    policy_tier: TierName
    policy_version: int
    hours_mode: HoursModeName
    first_response_minutes: int
    update_interval_minutes: int
    resolution_minutes: int
    warning_ratio: Decimal
    first_response: DeadlineRead
    customer_update: DeadlineRead = Field(description="The first customer update after one made at received_at")
    resolution: DeadlineRead
    calendar: str
    calendar_warnings: list[CalendarWarning]


class PolicyUpdated(BaseModel):
    """A changed policy and how many open complaints were recomputed."""

    policy: PolicyRead
    recomputed: int
