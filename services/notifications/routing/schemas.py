"""Request and response models of routing rules, and the recipient plan routing hands to delivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.notifications.kinds.schemas import Facts
from services.notifications.kinds.service import NOTIFIABLE_KINDS
from shared.api import RequestBody
from shared.auth import ROLES
from shared.vocabulary import TierCode

if TYPE_CHECKING:
    from services.notifications.robots.models import RobotChannel
    from services.notifications.templates.schemas import Rendered
    from services.notifications.webhooks.models import WebhookSubscription

ANY_KIND = "*"
# Who a rule names. "robots": the group robots of the account, of its owner's teams and company-wide.
RECIPIENT_TOKENS: dict[str, str] = {
    "owner": "the person responsible for the object (the event's owner, else the account's owner)",
    "account_owner": "the account's owner",
    "team": "the account team: its owner and members",
    "supervisor": "the owner's supervisor (the supervisor of the owner's teams; see supervisor_fallback)",
    "assignee": "the assignee the event names (a task, an action item)",
    "escalated_to": "the escalation ladder's rung the event names",
    "previous_owner": "the owner before a reassignment",
    "queue": "every user of the role queue the event names (e.g. the checker of a limit request)",
    "robots": "the group robots of the account, of its owner's teams and company-wide",
}
PersonChannel = Literal["in_app", "email"]
DEFAULT_CHANNELS: tuple[PersonChannel, ...] = ("in_app", "email")
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,59}$")]
Level = Annotated[str, StringConstraints(min_length=1, max_length=30)]


def check_kind(value: str) -> str:
    """An event kind notifications handles, or "*"."""
    if value != ANY_KIND and value not in NOTIFIABLE_KINDS:
        raise ValueError(f"unknown event kind {value!r}; known: * and {', '.join(NOTIFIABLE_KINDS)}")
    return value


def check_recipient(value: str) -> str:
    """A recipient token, ``role:<role>`` or ``user:<user id>``."""
    prefix, _, rest = value.partition(":")
    if value in RECIPIENT_TOKENS or (prefix == "role" and rest in ROLES) or (prefix == "user" and 0 < len(rest) <= 100):
        return value
    raise ValueError(
        f"unknown recipient {value!r}; use one of {', '.join(RECIPIENT_TOKENS)}, role:<{'|'.join(ROLES)}> "
        "or user:<user id>"
    )


class RuleCreate(RequestBody):
    """A routing rule: which events (kind × tiers × levels) go to whom on which personal channels."""

    code: Code
    description: str = Field(default="", max_length=300)
    event_kind: str = Field(max_length=100, description='an event kind (e.g. complaints.sla_breached) or "*"')
    tiers: list[TierCode] = Field(default_factory=list, max_length=10, description="empty: any tier")
    levels: list[Level] = Field(
        default_factory=list,
        max_length=20,
        description="empty: any level. Severity for complaint SLA/assignment kinds, escalation level (1, 2) for "
        "escalations, alert colour for alerts, reminder stage (90, 60, 30) for contracts, contact level for "
        "engagement",
    )
    recipients: list[str] = Field(min_length=1, max_length=30)
    channels: list[PersonChannel] = Field(default_factory=lambda: list(DEFAULT_CHANNELS), max_length=2)
    critical: bool | None = Field(default=None, description="true: passes quiet hours; empty: as the kind says")
    enabled: bool = True

    _kind = field_validator("event_kind")(check_kind)

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(check_recipient(v) for v in value))


class RuleUpdate(RequestBody):
    """Changes to a rule (a built-in rule may be changed or disabled, not deleted)."""

    description: str | None = Field(default=None, max_length=300)
    event_kind: str | None = Field(default=None, max_length=100)
    tiers: list[TierCode] | None = Field(default=None, max_length=10)
    levels: list[Level] | None = Field(default=None, max_length=20)
    recipients: list[str] | None = Field(default=None, min_length=1, max_length=30)
    channels: list[PersonChannel] | None = Field(default=None, max_length=2)
    critical: bool | None = None
    enabled: bool | None = None

    @field_validator("event_kind")
    @classmethod
    def _kind(cls, value: str | None) -> str | None:
        return None if value is None else check_kind(value)

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(dict.fromkeys(check_recipient(v) for v in value))


class RuleRead(BaseModel):
    """A routing rule."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    description: str
    event_kind: str
    tiers: list[str]
    levels: list[str]
    recipients: list[str]
    channels: list[str]
    critical: bool | None
    enabled: bool
    builtin: bool
    version: int
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class Person:
    """A user to tell, and on which personal channels the matching rules name."""

    user_id: str
    display_name: str
    email: str | None
    im_ids: dict[str, str]  # the user's WeCom / DingTalk / Feishu ids (for @-mentions in robot messages)
    channels: frozenset[str]


@dataclass(frozen=True)
class Plan:
    """Who hears of one event: people, group robots and webhook subscriptions."""

    facts: Facts
    account_name: str | None
    people: tuple[Person, ...] = ()
    robots: tuple[RobotChannel, ...] = ()
    webhooks: tuple[WebhookSubscription, ...] = ()
    names: dict[str, str] = field(default_factory=dict)  # user id → display name, for the templates
    # The event rendered per language, as recipients are queued (delivery.service.plan_message): once each.
    rendered: dict[str, Rendered] = field(default_factory=dict, compare=False, repr=False)
