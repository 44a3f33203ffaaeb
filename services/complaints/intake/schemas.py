"""Request and response bodies of intake and the closed loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.complaints.improvement.schemas import ActionRead, RemedyRead
from services.complaints.intake.states import ComplaintState
from services.complaints.taskforce.schemas import TaskRead
from shared.vocabulary import Severity

Channel = Literal["phone", "email", "wechat", "visit", "portal", "letter", "other"]
Visibility = Literal["internal", "customer"]
StateName = ComplaintState


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Attachment(BaseModel):
    """Metadata of an attached file (the file itself lives in the document store)."""

    filename: str = Field(min_length=1, max_length=300)
    content_type: str | None = Field(default=None, max_length=100)
    size_bytes: int | None = Field(default=None, ge=0)
    url: str | None = Field(default=None, max_length=1000)


class ComplaintCreate(BaseModel):
    """A new complaint against an account."""

    account_id: str = Field(min_length=1, max_length=36)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=20000)
    channel: Channel = "phone"
    category: str = Field(min_length=1, max_length=50)
    severity: Severity = "medium"
    reporter_name: str | None = Field(default=None, max_length=200)
    reporter_contact: str | None = Field(default=None, max_length=200)
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)
    owner_id: str | None = Field(default=None, max_length=100)
    received_at: datetime | None = Field(
        default=None,
        description="When the customer complained, if earlier than now (a letter, a call logged later): "
        "the SLA runs from then. At most 90 days back, never in the future.",
    )

    @field_validator("received_at")
    @classmethod
    def _aware_received(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a time zone")
        return value


@dataclass(frozen=True)
class ComplaintFilters:
    """What a list (or the analytics) narrows the visible complaints to; ``None`` means any."""

    account_id: str | None = None
    state: str | None = None
    severity: str | None = None
    category: str | None = None
    owner_id: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None


class SlaRead(BaseModel):
    """The SLA state of a complaint at the time of the request."""

    state: str
    first_response: str
    resolution: str
    customer_update: str
    next_due_at: datetime | None
    warning: bool
    breached: bool
    paused: bool


class ComplaintRead(_Read):
    """A complaint with its owner, state and stored timers."""

    id: str
    account_id: str
    title: str
    description: str
    channel: str
    category: str
    severity: str
    reporter_name: str | None
    reporter_contact: str | None
    attachments: list[dict[str, Any]]
    state: str
    allowed_transitions: list[str] = Field(default_factory=list)
    owner_id: str | None
    opened_by: str
    opened_at: datetime
    policy_tier: str
    hours_mode: str
    acknowledged_at: datetime | None
    first_response_minutes: int | None
    first_response_within_sla: bool | None
    first_response_due_at: datetime | None
    first_response_warning_at: datetime | None
    resolution_due_at: datetime | None
    resolution_warning_at: datetime | None
    update_due_at: datetime | None
    resolved_at: datetime | None
    resolution_minutes: int | None
    resolution_within_sla: bool | None
    closed_at: datetime | None
    satisfaction: int | None
    waived: bool
    reopen_count: int
    escalation_level: int
    paused: bool
    first_response_breached_at: datetime | None
    resolution_breached_at: datetime | None
    update_breached_at: datetime | None
    root_cause_category: str | None
    root_cause_description: str | None
    version: int
    updated_at: datetime
    sla: SlaRead | None = None


class EscalationRead(_Read):
    """A rung of the escalation ladder reached."""

    level: int
    escalated_to: str
    reason: str
    at: datetime


class RevisitRead(_Read):
    """A revisit after resolution."""

    at: datetime
    by: str
    satisfaction: int | None
    comment: str | None
    waived: bool
    waiver_reason: str | None


class PauseRead(_Read):
    """An SLA pause with its reason."""

    started_at: datetime
    ended_at: datetime | None
    reason: str
    started_by: str


class ComplaintDetail(ComplaintRead):
    """A complaint with its task force, escalations, revisits, pauses, actions and remedies."""

    tasks: list[TaskRead] = Field(default_factory=list)
    escalations: list[EscalationRead] = Field(default_factory=list)
    revisits: list[RevisitRead] = Field(default_factory=list)
    pauses: list[PauseRead] = Field(default_factory=list)
    actions: list[ActionRead] = Field(default_factory=list)
    remedies: list[RemedyRead] = Field(default_factory=list)


class TimelineRead(_Read):
    """One entry of the timeline."""

    id: int
    at: datetime
    actor_id: str
    kind: str
    visibility: str
    body: str
    data: dict[str, Any]


class MessageBody(BaseModel):
    """A message that goes with a transition."""

    message: str = Field(default="", max_length=20000)


class AcknowledgeBody(BaseModel):
    """The first response to the customer."""

    message: str = Field(min_length=1, max_length=20000)


class ReasonBody(BaseModel):
    """A transition or action that needs a reason."""

    reason: str = Field(min_length=1, max_length=5000)


class RevisitBody(BaseModel):
    """A revisit: satisfaction 1–5 with a comment, or a waiver with its reason."""

    satisfaction: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, max_length=5000)
    waiver_reason: str | None = Field(default=None, max_length=5000)


class AssignBody(BaseModel):
    """A new owner."""

    owner_id: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=2000)


class NoteBody(BaseModel):
    """An internal note or a customer-visible update."""

    body: str = Field(min_length=1, max_length=20000)
    visibility: Visibility = "internal"


class SlaCheckResult(BaseModel):
    """What one run of the SLA timer check did."""

    checked_at: datetime
    counts: dict[str, int]
