"""Request and response bodies of layered engagement: the engagement log, cadence status and policy."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.scoring.engagement.cadence import ContactLevel
from shared.vocabulary import TierCode

EngagementKind = Literal["visit", "executive_meeting", "business_review", "call", "workshop"]


class EngagementCreate(BaseModel):
    """Log a visit, executive meeting or business review."""

    kind: EngagementKind
    level: ContactLevel
    occurred_on: date
    participants: list[str] = Field(default_factory=list)
    notes: str | None = Field(default=None, max_length=8000)


class EngagementRead(EngagementCreate):
    """A logged engagement."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    created_by: str
    created_at: datetime


class LevelStatusRead(BaseModel):
    """Cadence of one level for one account."""

    level: str
    every_days: int
    last_contact_on: date | None
    due_on: date | None
    overdue: bool
    days_overdue: int | None


class EngagementStatusRead(BaseModel):
    """Cadence status of one account."""

    account_id: str
    account_name: str
    tier: str | None
    owner_id: str
    overdue: bool
    levels: list[LevelStatusRead]


class CadenceRule(BaseModel):
    """Days between contacts at a level for a tier."""

    tier: TierCode
    level: ContactLevel
    every_days: int = Field(ge=1, le=3650)


class CadencePolicy(BaseModel):
    """The whole cadence policy."""

    rules: list[CadenceRule]
