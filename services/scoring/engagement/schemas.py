"""Request and response bodies of layered engagement: the engagement log, cadence status and policy."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.scoring.contacts.schemas import ContactIdRef, LevelReviewRead
from services.scoring.engagement.cadence import ContactLevel
from shared.api import RequestBody
from shared.vocabulary import TierCode

EngagementKind = Literal["visit", "executive_meeting", "business_review", "call", "workshop"]
# A user of ours (an id the gateway issued).
UserId = Annotated[str, Field(min_length=1, max_length=100)]


Participants = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=200)]],
    Field(max_length=50, description="Who took part on the customer's side (names)"),
]
OurParticipants = Annotated[
    list[UserId], Field(max_length=20, description="Our users who took part (active, able to see the account)")
]
ContactParticipants = Annotated[
    list[ContactIdRef], Field(max_length=50, description="The account's contacts who took part (their ids)")
]
EngagementStatus = Literal["held", "planned"]


class EngagementCreate(RequestBody):
    """Log an engagement held on ``occurred_on`` (a business date, not in the future), or plan one due on
    ``planned_on`` (today or later) by leaving ``occurred_on`` out."""

    kind: EngagementKind
    level: ContactLevel
    occurred_on: date | None = Field(default=None, description="When it was held (none: a planned engagement)")
    planned_on: date | None = Field(default=None, description="When a planned engagement is due")
    participants: Participants = Field(default_factory=list)
    our_participant_ids: OurParticipants = Field(default_factory=list)
    participant_contact_ids: ContactParticipants = Field(default_factory=list)
    notes: str | None = Field(default=None, max_length=8000)
    next_step: str | None = Field(default=None, max_length=2000)
    next_step_due_on: date | None = None


class EngagementUpdate(RequestBody):
    """A change of an engagement (only the fields given change); ``occurred_on`` on a planned one marks it held."""

    kind: EngagementKind | None = None
    level: ContactLevel | None = None
    occurred_on: date | None = None
    planned_on: date | None = None
    participants: Participants | None = None
    our_participant_ids: OurParticipants | None = None
    participant_contact_ids: ContactParticipants | None = None
    notes: str | None = Field(default=None, max_length=8000)
    next_step: str | None = Field(default=None, max_length=2000)
    next_step_due_on: date | None = None


class EngagementRead(LevelReviewRead):
    """An engagement: held, or planned (``overdue`` once its due date has passed without it being held)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    kind: EngagementKind
    level: ContactLevel
    status: EngagementStatus
    occurred_on: date | None
    planned_on: date | None
    overdue: bool = False
    days_overdue: int | None = None
    participants: list[str]
    our_participant_ids: list[str]
    participant_contact_ids: list[str]
    notes: str | None
    next_step: str | None
    next_step_due_on: date | None
    version: int
    created_by: str
    created_at: datetime
    updated_by: str | None
    updated_at: datetime | None


class PlannedOverdueRead(EngagementRead):
    """A planned engagement past its due date, with its account (the planned-overdue list)."""

    account_name: str
    tier: TierCode | None
    owner_id: str


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
