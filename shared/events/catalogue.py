"""The event catalogue.

Every event is ``{id, type, source, time, account_id, version, data}``; ``type`` is the discriminator and
the NATS subject is ``kam.<type>``. Money is a decimal (serialised as a string), times are RFC 3339 UTC.
"""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from shared.vocabulary import AlertLevel, CreditGrade, Severity

SUBJECT_PREFIX = "kam."

# One stream per publishing domain, created by its publisher (and idempotently by consumers that need it).
STREAMS: dict[str, str] = {
    "identity": "KAM_IDENTITY",
    "accounts": "KAM_ACCOUNTS",
    "complaints": "KAM_COMPLAINTS",
    "risk": "KAM_RISK",
    "goals": "KAM_GOALS",
}


_last_id = [0]


def _new_id() -> str:
    """A UUIDv7-shaped id (RFC 9562): milliseconds, then a per-process counter, then random bits. Ids made later in
    one process sort after earlier ones, so events of one instant keep the order they were made in (projections break
    ties on equal event times by id)."""
    now_ms = time.time_ns() // 1_000_000
    stamp = max(now_ms << 12, _last_id[0] + 1)  # 48-bit ms and a 12-bit counter, never going back
    _last_id[0] = stamp
    high = ((stamp >> 12) << 16) | 0x7000 | (stamp & 0xFFF)
    low = (0b10 << 62) | (secrets.randbits(62))
    return str(uuid.UUID(int=(high << 64) | low))


def _now() -> datetime:
    return datetime.now(UTC)


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class EventBase(BaseModel):
    """The envelope; subclasses pin ``type`` and ``data``."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=_new_id)
    type: str
    source: str
    time: datetime = Field(default_factory=_now)
    account_id: str | None = None
    version: int = 1
    data: Any = None

    domain: ClassVar[str] = ""

    @classmethod
    def type_name(cls) -> str:
        """The ``type`` this class pins (``complaints.opened``)."""
        name: str = cls.model_fields["type"].default
        return name

    @property
    def subject(self) -> str:
        """The NATS subject this event is published on."""
        return subject_for(self.type)


# ---------------------------------------------------------------- identity (published by the gateway)


class UserData(_Data):
    """A user as every service needs to know them: roles, whether active, and how to reach them."""

    user_id: str
    display_name: str = ""
    roles: list[str] = Field(default_factory=list)
    active: bool = True
    email: str | None = None
    channels: dict[str, str] = Field(default_factory=dict)  # e.g. {"wecom": "LiLei", "dingtalk": "..."}


class UserRegistered(EventBase):
    type: Literal["identity.user_registered"] = "identity.user_registered"
    data: UserData
    domain: ClassVar[str] = "identity"


class UserUpdated(EventBase):
    type: Literal["identity.user_updated"] = "identity.user_updated"
    data: UserData
    domain: ClassVar[str] = "identity"


class UserDeactivated(EventBase):
    type: Literal["identity.user_deactivated"] = "identity.user_deactivated"
    data: UserData
    domain: ClassVar[str] = "identity"


# ---------------------------------------------------------------- accounts (published by scoring)


class AccountSnapshot(_Data):
    name: str
    name_en: str | None = None
    industry: str | None = None
    region: str | None = None
    status: str | None = None
    tier: str | None = None
    owner_id: str | None = None
    team_member_ids: list[str] = Field(default_factory=list)
    # Added (optional, version 1): the group the account belongs to (null: none). Absent in events published before
    # the account hierarchy existed, which consumers read as "unknown", not as "no parent".
    parent_account_id: str | None = None
    # Added (optional, version 1): the unified social credit code and the external ERP customer codes, by which
    # imports elsewhere may name the account (goals). Absent (None) in events published before they existed, read
    # as "not told" (keep what is known), not as "none".
    credit_code: str | None = None
    erp_codes: list[str] | None = None


class AccountRegistered(EventBase):
    type: Literal["accounts.registered"] = "accounts.registered"
    data: AccountSnapshot
    domain: ClassVar[str] = "accounts"


class AccountUpdated(EventBase):
    type: Literal["accounts.updated"] = "accounts.updated"
    data: AccountSnapshot
    domain: ClassVar[str] = "accounts"


class TierChangedData(_Data):
    old_tier: str | None
    new_tier: str
    score: Decimal | None = None
    reason: str
    model_version: int | None = None
    overridden: bool = False


class AccountTierChanged(EventBase):
    type: Literal["accounts.tier_changed"] = "accounts.tier_changed"
    data: TierChangedData
    domain: ClassVar[str] = "accounts"


class OwnerChangedData(_Data):
    old_owner_id: str | None
    new_owner_id: str
    team_member_ids: list[str] = Field(default_factory=list)


class AccountOwnerChanged(EventBase):
    type: Literal["accounts.owner_changed"] = "accounts.owner_changed"
    data: OwnerChangedData
    domain: ClassVar[str] = "accounts"


class EngagementOverdueData(_Data):
    contact_level: str
    days_overdue: int
    owner_id: str | None = None
    last_engaged_on: date | None = None


class EngagementOverdue(EventBase):
    """An account went without contact at a level for longer than its tier's cadence."""

    type: Literal["accounts.engagement_overdue"] = "accounts.engagement_overdue"
    data: EngagementOverdueData
    domain: ClassVar[str] = "accounts"


class ReviewRequestedData(_Data):
    """What waits for a KA supervisor: a change request of self-reported score inputs (``change_request``: the
    fields) or a contact level an account manager reported (``contact_level``: a contact or held engagement)."""

    review_kind: Literal["change_request", "contact_level"]
    review_id: str  # the change request, contact or engagement
    object_type: Literal["change_request", "contact", "engagement"]
    requested_by: str
    owner_id: str  # the account's owner (whose supervisor decides)
    fields: list[str] = Field(default_factory=list)  # a change request's fields
    level: str | None = None  # a reported contact level


class ReviewRequested(EventBase):
    """A score input an account manager reported waits for a KA supervisor (never the requester) to decide it."""

    type: Literal["accounts.review_requested"] = "accounts.review_requested"
    data: ReviewRequestedData
    domain: ClassVar[str] = "accounts"


class ContactData(_Data):
    """A contact at the customer as other services may keep it (surveys, relationship maps)."""

    contact_id: str
    name: str
    title: str | None = None
    level: str
    email: str | None = None
    phone: str | None = None
    language: str = "zh-CN"
    active: bool = True
    # The relationship map (optional: consumers of version 1 ignore them).
    role: str | None = None  # decision_maker, influencer, champion, user, blocker
    attitude: str | None = None  # supporter, neutral, opponent
    reports_to_id: str | None = None


class ContactChanged(EventBase):
    """A contact was added, changed or retired (``active`` false): the whole contact, so a projection can upsert."""

    type: Literal["accounts.contact_changed"] = "accounts.contact_changed"
    data: ContactData
    domain: ClassVar[str] = "accounts"


# ---------------------------------------------------------------- complaints


class ComplaintOpenedData(_Data):
    complaint_id: str
    category: str
    severity: Severity
    owner_id: str | None = None
    opened_at: datetime
    first_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None


class ComplaintOpened(EventBase):
    type: Literal["complaints.opened"] = "complaints.opened"
    data: ComplaintOpenedData
    domain: ClassVar[str] = "complaints"


class ComplaintAcknowledgedData(_Data):
    complaint_id: str
    owner_id: str | None = None
    acknowledged_at: datetime
    first_response_minutes: int | None = None
    within_sla: bool


class ComplaintAcknowledged(EventBase):
    type: Literal["complaints.acknowledged"] = "complaints.acknowledged"
    data: ComplaintAcknowledgedData
    domain: ClassVar[str] = "complaints"


class ComplaintEscalatedData(_Data):
    complaint_id: str
    level: int = Field(ge=1)
    escalated_to: str
    reason: Literal[
        "first_response_breach", "update_breach", "resolution_breach", "low_satisfaction", "reopened", "manual"
    ]
    severity: str | None = None
    owner_id: str | None = None


class ComplaintEscalated(EventBase):
    type: Literal["complaints.escalated"] = "complaints.escalated"
    data: ComplaintEscalatedData
    domain: ClassVar[str] = "complaints"


class ComplaintResolvedData(_Data):
    complaint_id: str
    owner_id: str | None = None
    resolved_at: datetime
    resolution_minutes: int | None = None
    within_sla: bool


class ComplaintResolved(EventBase):
    type: Literal["complaints.resolved"] = "complaints.resolved"
    data: ComplaintResolvedData
    domain: ClassVar[str] = "complaints"


class ComplaintClosedData(_Data):
    complaint_id: str
    owner_id: str | None = None
    closed_at: datetime
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    waived: bool = False


class ComplaintClosed(EventBase):
    type: Literal["complaints.closed"] = "complaints.closed"
    data: ComplaintClosedData
    domain: ClassVar[str] = "complaints"


class ComplaintReopenedData(_Data):
    complaint_id: str
    reopen_count: int = Field(ge=1)
    reason: str


class ComplaintReopened(EventBase):
    type: Literal["complaints.reopened"] = "complaints.reopened"
    data: ComplaintReopenedData
    domain: ClassVar[str] = "complaints"


# Added for notifications (version 1 of each): timers, assignment, the task force and revisits.
SlaTimer = Literal["first_response", "update", "resolution"]


class ComplaintSlaData(_Data):
    complaint_id: str
    timer: SlaTimer
    due_at: datetime
    severity: Severity
    tier: str | None = None
    owner_id: str | None = None
    title: str = ""


class ComplaintSlaWarning(EventBase):
    """A timer reached its warning point: the owner has little time left."""

    type: Literal["complaints.sla_warning"] = "complaints.sla_warning"
    data: ComplaintSlaData
    domain: ClassVar[str] = "complaints"


class ComplaintSlaBreached(EventBase):
    """A timer passed its due time without the action it waits for."""

    type: Literal["complaints.sla_breached"] = "complaints.sla_breached"
    data: ComplaintSlaData
    domain: ClassVar[str] = "complaints"


class ComplaintAssignedData(_Data):
    complaint_id: str
    owner_id: str
    previous_owner_id: str | None = None
    assigned_by: str | None = None
    severity: Severity | None = None
    title: str = ""


class ComplaintAssigned(EventBase):
    """A complaint got an owner (at intake or by reassignment)."""

    type: Literal["complaints.assigned"] = "complaints.assigned"
    data: ComplaintAssignedData
    domain: ClassVar[str] = "complaints"


class ComplaintTaskData(_Data):
    complaint_id: str
    task_id: str
    assignee_id: str | None = None
    department: str | None = None
    title: str = ""
    due_at: datetime | None = None


class ComplaintTaskAssigned(EventBase):
    """A task-force member was given a task."""

    type: Literal["complaints.task_assigned"] = "complaints.task_assigned"
    data: ComplaintTaskData
    domain: ClassVar[str] = "complaints"


class ComplaintTaskOverdue(EventBase):
    """A task passed its due time while still open."""

    type: Literal["complaints.task_overdue"] = "complaints.task_overdue"
    data: ComplaintTaskData
    domain: ClassVar[str] = "complaints"


class ComplaintRevisitDueData(_Data):
    complaint_id: str
    owner_id: str | None = None
    due_at: datetime
    title: str = ""


class ComplaintRevisitDue(EventBase):
    """A resolved complaint waits for its revisit."""

    type: Literal["complaints.revisit_due"] = "complaints.revisit_due"
    data: ComplaintRevisitDueData
    domain: ClassVar[str] = "complaints"


class SurveyAnsweredData(_Data):
    """A customer (or the owner on their behalf) answered a satisfaction survey."""

    survey_request_id: str
    template_id: str
    contact_id: str | None = None
    contact_level: str | None = None
    nps: int | None = Field(default=None, ge=0, le=10)
    csat: int | None = Field(default=None, ge=1, le=5)
    answered_at: datetime
    answered_by: str = Field(description="customer (through the link) or owner (entered for them)")
    low_score: bool = False
    owner_id: str | None = None
    kind: str = Field(default="survey", description="survey (a schedule or by hand) or revisit (a complaint's)")
    complaint_id: str | None = None
    follow_up_id: str | None = Field(default=None, description="The follow-up task a low score raised")


class SurveyAnswered(EventBase):
    type: Literal["complaints.survey_answered"] = "complaints.survey_answered"
    data: SurveyAnsweredData
    domain: ClassVar[str] = "complaints"


# ---------------------------------------------------------------- risk


class CreditAssessedData(_Data):
    score: Decimal
    grade: CreditGrade
    risk_class: str
    assessed_at: datetime


class CreditAssessed(EventBase):
    type: Literal["risk.credit_assessed"] = "risk.credit_assessed"
    data: CreditAssessedData
    domain: ClassVar[str] = "risk"


class CreditLimitChangedData(_Data):
    old_limit: Decimal | None
    new_limit: Decimal
    currency: str = "CNY"
    request_id: str | None = None
    approved_by: str | None = None


class CreditLimitChanged(EventBase):
    type: Literal["risk.credit_limit_changed"] = "risk.credit_limit_changed"
    data: CreditLimitChangedData
    domain: ClassVar[str] = "risk"


class FxRateSetData(_Data):
    """One unit of ``currency`` is worth ``rate`` units of ``base_currency`` from ``valid_on`` (a business date)."""

    currency: str
    base_currency: str
    rate: Decimal = Field(gt=0)
    valid_on: date


class FxRateSet(EventBase):
    type: Literal["risk.fx_rate_set"] = "risk.fx_rate_set"
    data: FxRateSetData
    domain: ClassVar[str] = "risk"


class AlertData(_Data):
    alert_id: str
    rule_code: str
    level: AlertLevel
    signal_type: str
    title: str


class AlertRaised(EventBase):
    type: Literal["risk.alert_raised"] = "risk.alert_raised"
    data: AlertData
    domain: ClassVar[str] = "risk"


class AlertCleared(EventBase):
    type: Literal["risk.alert_cleared"] = "risk.alert_cleared"
    data: AlertData
    domain: ClassVar[str] = "risk"


# Added for notifications (version 1 of each): alert levels, action items, the checker queue, contracts, reviews.


class AlertLevelRaisedData(AlertData):
    previous_level: AlertLevel


class AlertLevelRaised(EventBase):
    """An open alert moved to a higher level."""

    type: Literal["risk.alert_level_raised"] = "risk.alert_level_raised"
    data: AlertLevelRaisedData
    domain: ClassVar[str] = "risk"


class RiskActionItemData(_Data):
    item_id: str
    alert_id: str | None = None
    title: str
    owner_id: str | None = None
    owner_role: str | None = None
    due_on: date | None = None


class RiskActionItemAssigned(EventBase):
    """A contingency-plan step was given to a person or a role queue."""

    type: Literal["risk.action_item_assigned"] = "risk.action_item_assigned"
    data: RiskActionItemData
    domain: ClassVar[str] = "risk"


class RiskActionItemOverdue(EventBase):
    """A contingency-plan step passed its due date while open."""

    type: Literal["risk.action_item_overdue"] = "risk.action_item_overdue"
    data: RiskActionItemData
    domain: ClassVar[str] = "risk"


class LimitRequestData(_Data):
    request_id: str
    requested_by: str
    requested_limit: Decimal
    currency: str = "CNY"
    checker_role: str = "risk_officer"
    checker_id: str | None = None  # a checker named on the request (then only they decide)


class LimitRequestSubmitted(EventBase):
    """A credit limit request waits for a checker (never its maker)."""

    type: Literal["risk.limit_request_submitted"] = "risk.limit_request_submitted"
    data: LimitRequestData
    domain: ClassVar[str] = "risk"


class ContractExpiringData(_Data):
    contract_id: str
    title: str
    expires_on: date
    days_left: int
    stage: int  # the reminder stage: 90, 60 or 30 days
    owner_id: str | None = None


class ContractExpiring(EventBase):
    """A contract reached a reminder stage before it expires."""

    type: Literal["risk.contract_expiring"] = "risk.contract_expiring"
    data: ContractExpiringData
    domain: ClassVar[str] = "risk"


class CreditReviewDueData(_Data):
    review_on: date
    owner_id: str | None = None


class CreditReviewDue(EventBase):
    """A credit profile reached its periodic review date."""

    type: Literal["risk.review_due"] = "risk.review_due"
    data: CreditReviewDueData
    domain: ClassVar[str] = "risk"


# ---------------------------------------------------------------- goals


class TargetData(_Data):
    target_id: str
    metric: str
    period: str  # "2026", "2026-Q1" or "2026-03"
    target_value: Decimal
    stretch_value: Decimal | None = None
    owner_id: str | None = None


class TargetSet(EventBase):
    type: Literal["goals.target_set"] = "goals.target_set"
    data: TargetData
    domain: ClassVar[str] = "goals"


class ActualsRecordedData(_Data):
    """Totals of one account for one month after a recording (not a delta), so re-delivery is harmless."""

    period: str  # "YYYY-MM"
    revenue: Decimal
    cost: Decimal
    gross_profit: Decimal
    quantity: Decimal | None = None
    by_product_line: dict[str, Decimal] = Field(default_factory=dict)
    currency: str = "CNY"
    batch_id: str | None = None


class ActualsRecorded(EventBase):
    type: Literal["goals.actuals_recorded"] = "goals.actuals_recorded"
    data: ActualsRecordedData
    domain: ClassVar[str] = "goals"


class ActualsVoidedData(ActualsRecordedData):
    """An account-month's totals after sales lines were voided (zeros when none are left), with why: consumers
    replace the month's totals exactly as for ``goals.actuals_recorded``."""

    voided_lines: int = 0
    reason: str = ""
    voided_by: str | None = None


class ActualsVoided(EventBase):
    type: Literal["goals.actuals_voided"] = "goals.actuals_voided"
    data: ActualsVoidedData
    domain: ClassVar[str] = "goals"


class ActualsImportedData(_Data):
    """What one import batch did to one account: the totals of every month it touched (not deltas), published once
    per account per import (instead of one ``goals.actuals_recorded`` per account-month), so a consumer applies
    them together — one change, one re-score of the account. Consumers store each month exactly as a
    ``goals.actuals_recorded`` of it."""

    batch_id: str
    months: list[ActualsRecordedData] = Field(default_factory=list)


class ActualsImported(EventBase):
    type: Literal["goals.actuals_imported"] = "goals.actuals_imported"
    data: ActualsImportedData
    domain: ClassVar[str] = "goals"


class TargetAtRiskData(TargetData):
    forecast: Decimal
    attainment_pct: Decimal
    threshold_pct: Decimal


class TargetAtRisk(EventBase):
    type: Literal["goals.target_at_risk"] = "goals.target_at_risk"
    data: TargetAtRiskData
    domain: ClassVar[str] = "goals"


class TargetAchievedData(TargetData):
    actual: Decimal


class TargetAchieved(EventBase):
    type: Literal["goals.target_achieved"] = "goals.target_achieved"
    data: TargetAchievedData
    domain: ClassVar[str] = "goals"


# Added for notifications (version 1 of each).


class TargetMissedData(TargetData):
    actual: Decimal


class TargetMissed(EventBase):
    """A target's period ended below the target."""

    type: Literal["goals.target_missed"] = "goals.target_missed"
    data: TargetMissedData
    domain: ClassVar[str] = "goals"


class GoalsActionItemData(_Data):
    item_id: str
    target_id: str | None = None
    title: str
    owner_id: str | None = None
    due_on: date | None = None


class GoalsActionItemDue(EventBase):
    """An action item of an account plan is due soon."""

    type: Literal["goals.action_item_due"] = "goals.action_item_due"
    data: GoalsActionItemData
    domain: ClassVar[str] = "goals"


class GoalsActionItemOverdue(EventBase):
    """An action item passed its due date while open."""

    type: Literal["goals.action_item_overdue"] = "goals.action_item_overdue"
    data: GoalsActionItemData
    domain: ClassVar[str] = "goals"


class GoalsProjectPartData(_Data):
    """A department's part of a cross-department project (跨部门协同) of an account."""

    project_id: str
    part_id: str
    project_title: str = ""
    title: str
    department: str
    owner_id: str
    account_owner_id: str | None = None
    due_on: date
    status: str


class GoalsProjectPartOverdue(EventBase):
    """A department's part of a cross-department project passed its due date while not delivered (sent once)."""

    type: Literal["goals.project_part_overdue"] = "goals.project_part_overdue"
    data: GoalsProjectPartData
    domain: ClassVar[str] = "goals"


class CatalogueLine(_Data):
    """A product line of the catalogue goals keeps: offered (``active``) or retired (known, no longer offered)."""

    name: str
    active: bool = True
    description: str | None = None


class CatalogueChangedData(_Data):
    """The whole product catalogue after a change (a snapshot: the newest event replaces what a consumer holds),
    with the lines that changed (empty when announced at start-up) and who changed them."""

    product_lines: list[CatalogueLine]
    changed: list[str] = Field(default_factory=list)
    changed_by: str | None = None


class CatalogueChanged(EventBase):
    """The product catalogue (goals owns it) changed, or was announced at start-up: white space elsewhere follows."""

    type: Literal["goals.catalogue_changed"] = "goals.catalogue_changed"
    data: CatalogueChangedData
    domain: ClassVar[str] = "goals"


Event = Annotated[
    UserRegistered
    | UserUpdated
    | UserDeactivated
    | AccountRegistered
    | AccountUpdated
    | AccountTierChanged
    | AccountOwnerChanged
    | ContactChanged
    | ComplaintOpened
    | ComplaintAcknowledged
    | ComplaintEscalated
    | ComplaintResolved
    | ComplaintClosed
    | ComplaintReopened
    | SurveyAnswered
    | CreditAssessed
    | CreditLimitChanged
    | FxRateSet
    | AlertRaised
    | AlertCleared
    | TargetSet
    | ActualsRecorded
    | ActualsVoided
    | ActualsImported
    | TargetAtRisk
    | TargetAchieved
    | EngagementOverdue
    | ComplaintSlaWarning
    | ComplaintSlaBreached
    | ComplaintAssigned
    | ComplaintTaskAssigned
    | ComplaintTaskOverdue
    | ComplaintRevisitDue
    | AlertLevelRaised
    | RiskActionItemAssigned
    | RiskActionItemOverdue
    | LimitRequestSubmitted
    | ContractExpiring
    | CreditReviewDue
    | TargetMissed
    | GoalsActionItemDue
    | GoalsActionItemOverdue
    | GoalsProjectPartOverdue
    | CatalogueChanged
    | ReviewRequested,
    Field(discriminator="type"),
]

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)
# The classes are listed once, in the union above.
_CLASSES: dict[str, type[EventBase]] = {cls.type_name(): cls for cls in get_args(get_args(Event)[0])}
ALL_EVENT_TYPES: tuple[str, ...] = tuple(_CLASSES)


class UnknownEvent(ValueError):
    """A message whose type this version of the catalogue does not know."""


def event_class(event_type: str) -> type[EventBase]:
    """The model class of an event type."""
    try:
        return _CLASSES[event_type]
    except KeyError as exc:
        raise UnknownEvent(event_type) from exc


def parse_event(raw: bytes | str) -> EventBase:
    """Parse a serialised envelope into its typed event; raises UnknownEvent or ValidationError."""
    try:
        parsed: EventBase = _ADAPTER.validate_json(raw)
    except ValidationError as exc:
        if any(err.get("type") == "union_tag_invalid" for err in exc.errors()):
            raise UnknownEvent(str(exc)) from exc
        raise
    return parsed


def subject_for(event_type: str) -> str:
    """``complaints.opened`` → ``kam.complaints.opened``."""
    return SUBJECT_PREFIX + event_type


def stream_for_subject(subject: str) -> str:
    """The stream that carries a subject."""
    domain = subject.removeprefix(SUBJECT_PREFIX).split(".", 1)[0]
    return STREAMS[domain]
