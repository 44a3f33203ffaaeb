"""Request and response bodies of the complaints API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.api import MoneyStr

Severity = Literal["low", "medium", "high", "critical"]
Channel = Literal["phone", "email", "wechat", "visit", "portal", "letter", "other"]
Department = Literal["after_sales", "product", "quality", "logistics", "legal", "finance"]
Visibility = Literal["internal", "customer"]
HoursModeName = Literal["calendar", "business"]
TierName = Literal["default", "strategic", "key", "growth", "maintain"]
StateName = Literal[
    "new", "acknowledged", "investigating", "solution_proposed", "resolved", "revisited", "closed", "reopened"
]


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


class TaskRead(_Read):
    """A task-force task."""

    id: str
    department: str
    title: str
    assignee_id: str
    due_at: datetime
    status: str
    done_at: datetime | None


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


class ActionRead(_Read):
    """A corrective or preventive action."""

    id: str
    kind: str
    description: str
    owner_id: str
    due_at: datetime
    status: str
    done_at: datetime | None


class RemedyRead(_Read):
    """A goodwill remedy."""

    id: str
    kind: str
    description: str
    value: MoneyStr
    currency: str
    status: str
    proposed_by: str
    decided_by: str | None
    decided_at: datetime | None


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


class TaskCreate(BaseModel):
    """A task for one department of the task force."""

    department: Department
    title: str = Field(min_length=1, max_length=300)
    assignee_id: str = Field(min_length=1, max_length=100)
    due_at: datetime

    @field_validator("due_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must include a time zone")
        return value


class StatusBody(BaseModel):
    """Open or done."""

    status: Literal["open", "done"]


class RootCauseBody(BaseModel):
    """The root cause: a taxonomy category and a description."""

    category: str = Field(min_length=1, max_length=50)
    description: str = Field(min_length=1, max_length=20000)


class ActionCreate(BaseModel):
    """A corrective or preventive action."""

    kind: Literal["corrective", "preventive"]
    description: str = Field(min_length=1, max_length=5000)
    owner_id: str = Field(min_length=1, max_length=100)
    due_at: datetime


class RemedyCreate(BaseModel):
    """A goodwill remedy proposal."""

    kind: Literal["value_added_service", "discount", "credit_note", "replacement", "other"]
    description: str = Field(min_length=1, max_length=5000)
    value: Decimal = Field(ge=0, max_digits=16, decimal_places=4)
    currency: str = Field(default="CNY", min_length=3, max_length=3)


class RemedyDecision(BaseModel):
    """Approve or reject a remedy."""

    approve: bool


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


class SlaCheckResult(BaseModel):
    """What one run of the SLA timer check did."""

    checked_at: datetime
    counts: dict[str, int]
