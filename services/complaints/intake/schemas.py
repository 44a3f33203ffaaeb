"""Request and response bodies of intake and the closed loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.complaints.improvement.schemas import ActionRead, RemedyRead
from services.complaints.intake.states import ComplaintState
from services.complaints.labels import Channel, Level
from services.complaints.reference.schemas import CATEGORY_PATTERN, HoursModeName, TierName
from services.complaints.sla import SlaState
from services.complaints.taskforce.schemas import TaskRead
from shared.api import Instant, RequestBody
from shared.vocabulary import Severity

Visibility = Literal["internal", "customer"]
StateName = ComplaintState
EscalationReason = Literal[
    "first_response_breach", "update_breach", "resolution_breach", "low_satisfaction", "reopened", "manual"
]
MAX_ATTACHMENT_BYTES = 10 * 1024**3  # 10 GiB: the document store's limit


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Attachment(RequestBody):
    """Metadata of an attached file (the file itself lives in the document store)."""

    filename: str = Field(min_length=1, max_length=300)
    content_type: str | None = Field(default=None, max_length=100)
    size_bytes: int | None = Field(default=None, ge=0, le=MAX_ATTACHMENT_BYTES)
    url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://\S+$", description="http(s) only")


class AttachmentFileRead(_Read):
    """A file uploaded to a complaint (download: ``GET /complaints/{id}/attachments/{attachment_id}``)."""

    id: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class ComplaintCreate(RequestBody):
    """A new complaint against an account."""

    account_id: str = Field(min_length=1, max_length=36)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=20000)
    channel: Channel = "phone"
    category: str = Field(
        min_length=1, max_length=50, pattern=CATEGORY_PATTERN, description="A category or sub-category code"
    )
    severity: Severity | None = Field(default=None, description="Or impact + urgency (the severity matrix); medium")
    impact: Level | None = None
    urgency: Level | None = None
    reporter_name: str | None = Field(default=None, max_length=200)
    reporter_contact: str | None = Field(default=None, max_length=200)
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)
    owner_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The one owner (default: the account's owner): a known, active user who can see the account",
    )
    received_at: Instant | None = Field(
        default=None,
        description="When the customer complained, if earlier than now (a letter, a call logged later): "
        "the SLA runs from then. At most 90 days back, never in the future. An offset is required.",
    )


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
    channel: str | None = None
    escalation_level: int | None = None
    escalated_to: str | None = None
    open_only: bool = False


class Label(BaseModel):
    """A code's label in 中文 and English."""

    zh: str
    en: str


class ComplaintLabels(BaseModel):
    """The labels of a complaint's codes."""

    category: Label
    category_parent: Label | None = None
    severity: Label
    state: Label
    channel: Label
    impact: Label | None = None
    urgency: Label | None = None


class SlaRead(BaseModel):
    """The SLA state of a complaint at the time of the request."""

    state: SlaState
    first_response: SlaState
    resolution: SlaState
    customer_update: SlaState
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
    channel: Channel
    category: str
    category_parent: str | None = None
    severity: Severity
    impact: Level | None = None
    urgency: Level | None = None
    reporter_name: str | None
    reporter_contact: str | None
    attachments: list[dict[str, Any]]
    state: ComplaintState
    allowed_transitions: list[ComplaintState] = Field(default_factory=list)
    owner_id: str | None
    opened_by: str
    opened_at: datetime
    policy_tier: TierName
    policy_category: str = "*"
    policy_channel: str = "*"
    hours_mode: HoursModeName
    acknowledged_at: datetime | None
    first_response_minutes: int | None
    first_response_within_sla: bool | None
    first_response_due_at: datetime | None
    first_response_warning_at: datetime | None
    resolution_due_at: datetime | None
    resolution_warning_at: datetime | None
    update_due_at: datetime | None
    update_warning_at: datetime | None = None
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
    revisit_due_at: datetime | None = None
    root_cause_category: str | None
    root_cause_description: str | None
    version: int
    updated_at: datetime
    sla: SlaRead | None = None
    labels: ComplaintLabels | None = None


class EscalationRead(_Read):
    """A rung of the escalation ladder reached."""

    level: int
    escalated_to: str
    reason: EscalationReason
    at: datetime


class RevisitRead(_Read):
    """A revisit after resolution."""

    at: datetime
    by: str
    satisfaction: int | None
    comment: str | None
    waived: bool
    waiver_reason: str | None
    answered_by: Literal["owner", "customer"] = "owner"


class PauseRead(_Read):
    """An SLA pause with its reason."""

    started_at: datetime
    ended_at: datetime | None
    reason: str
    started_by: str


class ComplaintDetail(ComplaintRead):
    """A complaint with its task force, escalations, revisits, pauses, actions and remedies."""

    tasks: list[TaskRead] = Field(default_factory=list)
    overdue_task_count: int = Field(default=0, description="Open tasks past their due time (at the request)")
    escalations: list[EscalationRead] = Field(default_factory=list)
    revisits: list[RevisitRead] = Field(default_factory=list)
    pauses: list[PauseRead] = Field(default_factory=list)
    actions: list[ActionRead] = Field(default_factory=list)
    remedies: list[RemedyRead] = Field(default_factory=list)
    files: list[AttachmentFileRead] = Field(default_factory=list, description="Uploaded attachments")


class TimelineRead(_Read):
    """One entry of the timeline."""

    id: int
    at: datetime
    actor_id: str
    kind: str
    visibility: Visibility
    body: str
    data: dict[str, Any]


class MessageBody(RequestBody):
    """A message that goes with a transition."""

    message: str = Field(default="", max_length=20000)


class AcknowledgeBody(RequestBody):
    """The first response to the customer."""

    message: str = Field(min_length=1, max_length=20000)


class ReasonBody(RequestBody):
    """A transition or action that needs a reason."""

    reason: str = Field(min_length=1, max_length=5000)


# Why a revisit may be waived (a closed vocabulary; the free text goes in ``comment``), with its labels.
WaiverReason = Literal[
    "customer_unreachable", "customer_declined", "contact_left", "confirmed_in_writing", "duplicate_complaint"
]
WAIVER_REASON_LABELS: dict[str, tuple[str, str]] = {
    "customer_unreachable": ("多次联系客户未果", "Customer unreachable"),
    "customer_declined": ("客户拒绝回访", "Customer declined the revisit"),
    "contact_left": ("客户联系人已离职", "The customer's contact has left"),
    "confirmed_in_writing": ("客户已书面确认解决", "Customer confirmed the resolution in writing"),
    "duplicate_complaint": ("重复投诉，已在原投诉回访", "Duplicate: revisited on the original complaint"),
}


class RevisitBody(RequestBody):
    """A revisit: satisfaction 1–5 with a comment, or (a supervisor only) a waiver with a reason from the list."""

    satisfaction: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, max_length=5000)
    waiver_reason: WaiverReason | None = Field(
        default=None, description="Waive the revisit (supervisors): never together with a satisfaction"
    )


class CloseOverride(RequestBody):
    """A supervisor's explicit override to close over open tasks, actions or remedies (audited)."""

    reason: str = Field(min_length=1, max_length=2000)


class CloseBody(MessageBody):
    """Close the loop; ``override`` only when work is still open (a supervisor's, with a reason)."""

    override: CloseOverride | None = None


class AssignBody(RequestBody):
    """A new owner."""

    owner_id: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=2000)


class NoteBody(RequestBody):
    """An internal note or a customer-visible update."""

    body: str = Field(min_length=1, max_length=20000)
    visibility: Visibility = "internal"


class SlaCheckResult(BaseModel):
    """What one run of the SLA timer check did."""

    checked_at: datetime
    counts: dict[str, int]
