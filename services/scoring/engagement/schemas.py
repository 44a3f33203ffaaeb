"""Request and response bodies of layered engagement: the engagement log, cadence status and policy."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.scoring.engagement.cadence import ContactLevel
from shared.api import RequestBody
from shared.vocabulary import TierCode

EngagementKind = Literal["visit", "executive_meeting", "business_review", "call", "workshop"]
# A user of ours (an id the gateway issued).
UserId = Annotated[str, Field(min_length=1, max_length=100)]


class EngagementCreate(RequestBody):
    """Log a visit, executive meeting or business review (``occurred_on``: a business date, not in the future)."""

    kind: EngagementKind
    level: ContactLevel
    occurred_on: date
    participants: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50, description="Who took part on the customer's side (names)"
    )
    our_participant_ids: list[UserId] = Field(
        default_factory=list, max_length=20, description="Our users who took part (active, able to see the account)"
    )
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

    level: ContactLevel
    every_days: int
    last_contact_on: date | None
    due_on: date | None
    overdue: bool
    days_overdue: int | None


class EngagementStatusRead(BaseModel):
    """Cadence status of one account."""

    account_id: str
    account_name: str
    tier: TierCode | None
    owner_id: str
    overdue: bool
    levels: list[LevelStatusRead]


class CadenceRule(RequestBody):
    """Days between contacts at a level for a tier."""

    tier: TierCode
    level: ContactLevel
    every_days: int = Field(ge=1, le=3650)


class CadencePolicy(RequestBody):
    """The whole cadence policy."""

    rules: list[CadenceRule] = Field(max_length=100)
