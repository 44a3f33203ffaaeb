"""Request and response bodies of the reference data: categories and SLA policies."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.complaints.calendars.schemas import CalendarWarning
from services.complaints.labels import Channel, Level
from shared.api import Instant, RequestBody
from shared.vocabulary import Severity, TierCode

# A policy's tier: one of the account tiers, or ``default`` for accounts without one.
TierName = Literal["default", TierCode]
HoursModeName = Literal["calendar", "business"]
# A category code: snake_case, at most 50 characters (the same in the category API, intake and filters).
CATEGORY_PATTERN = r"^[a-z][a-z0-9_]{0,49}$"
CategoryCode = Annotated[str, Path(pattern=CATEGORY_PATTERN, description="Category code (snake_case)")]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CategoryBody(RequestBody):
    """A taxonomy entry; ``parent_code`` makes it a sub-category of a top-level category."""

    label_zh: str = Field(min_length=1, max_length=100)
    label_en: str = Field(min_length=1, max_length=100)
    active: bool = True
    parent_code: str | None = Field(default=None, pattern=CATEGORY_PATTERN, max_length=50)


class CategoryRead(_Read):
    """A taxonomy entry."""

    code: str
    label_zh: str
    label_en: str
    active: bool
    parent_code: str | None = None


class MatrixCell(RequestBody):
    """One cell of the severity matrix."""

    impact: Level
    urgency: Level
    severity: Severity


class MatrixBody(RequestBody):
    """The whole severity matrix: every impact × urgency (low, medium, high) exactly once."""

    cells: list[MatrixCell] = Field(min_length=1, max_length=9)


class MatrixCellRead(BaseModel):
    """One cell with its labels."""

    impact: Level
    urgency: Level
    severity: Severity
    severity_label: dict[str, str]


class MatrixRead(BaseModel):
    """The severity matrix in force."""

    cells: list[MatrixCellRead]
    version: int
    updated_at: datetime
    updated_by: str | None


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
    """SLA targets of one tier and severity (narrowed to a category and a channel unless ``*``)."""

    tier: TierName
    severity: Severity
    category: str = "*"
    channel: str = "*"
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
    category: str | None = Field(default=None, pattern=CATEGORY_PATTERN)
    channel: Channel | None = None
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
    policy_category: str = "*"
    policy_channel: str = "*"
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


class PolicyChange(BaseModel):
    """One recorded change of a policy: who, when, and the fields before and after."""

    at: datetime
    actor_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


class RungBody(RequestBody):
    """One rung: a named user (a known, active supervisor or admin) or a role (whoever active holds it)."""

    user_id: str | None = Field(default=None, min_length=1, max_length=100)
    role: Literal["supervisor", "admin"] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> RungBody:
        if (self.user_id is None) == (self.role is None):
            raise ValueError("a rung names a user_id or a role, exactly one")
        return self


class LadderBody(RequestBody):
    """An escalation ladder above the owner, level 1 first."""

    rungs: list[RungBody] = Field(min_length=1, max_length=10)


class LadderRead(BaseModel):
    """The ladder of a tier: stored, or the settings' (``source``)."""

    tier: TierName
    rungs: list[dict[str, str]]
    source: Literal["stored", "settings"]
    version: int | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
