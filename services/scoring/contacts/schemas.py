"""Request and response bodies of contacts and the relationship map: contacts, retirement, history, org chart."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.scoring.engagement.cadence import ContactLevel
from shared.api import RequestBody

ContactLanguage = Literal["zh-CN", "en"]
# The role a contact plays in the buying decision (a closed vocabulary).
BuyingRole = Literal["decision_maker", "influencer", "champion", "user", "blocker"]
# Where a contact stands towards us.
Attitude = Literal["supporter", "neutral", "opponent"]
ContactIdRef = Annotated[
    str,
    Field(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"),
]

ROLE_LABELS: dict[str, tuple[str, str]] = {
    "decision_maker": ("决策者", "Decision maker"),
    "influencer": ("影响者", "Influencer"),
    "champion": ("内部支持者", "Champion"),
    "user": ("使用者", "User"),
    "blocker": ("阻碍者", "Blocker"),
}
# Whether the level of a contact or held engagement counts for the score (contacts/level_review.py).
LevelReview = Literal["confirmed", "pending", "rejected"]
LEVEL_REVIEW_LABELS: dict[str, tuple[str, str]] = {
    "confirmed": ("已确认", "Confirmed"),
    "pending": ("待主管确认", "Awaiting the supervisor"),
    "rejected": ("未予确认", "Not confirmed"),
}
ATTITUDE_LABELS: dict[str, tuple[str, str]] = {
    "supporter": ("支持", "Supporter"),
    "neutral": ("中立", "Neutral"),
    "opponent": ("反对", "Opponent"),
}


class ContactCreate(RequestBody):
    """A person at the customer (``reports_to_id``: another contact of the same account)."""

    name: str = Field(min_length=1, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    level: ContactLevel
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    language: ContactLanguage = "zh-CN"
    role: BuyingRole | None = Field(default=None, description="Role in the buying decision")
    attitude: Attitude | None = None
    reports_to_id: ContactIdRef | None = Field(default=None, description="The contact this one reports to")


class ContactUpdate(RequestBody):
    """A change of a contact (only the fields given change; ``title``, ``email``, ``phone``, ``role``,
    ``attitude`` and ``reports_to_id`` may be set to null)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    level: ContactLevel | None = None
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    language: ContactLanguage | None = None
    role: BuyingRole | None = None
    attitude: Attitude | None = None
    reports_to_id: ContactIdRef | None = None


class ContactRetire(RequestBody):
    """Why a contact leaves the account (kept, hidden from the default list, published ``active: false``)."""

    reason: str = Field(min_length=1, max_length=2000)


class Label(BaseModel):
    """A code of a closed vocabulary with its labels."""

    code: str
    label_zh: str
    label_en: str


def label_of(labels: dict[str, tuple[str, str]], code: str | None) -> Label | None:
    """The labels of a code (None for none)."""
    if code is None:
        return None
    zh, en = labels[code]
    return Label(code=code, label_zh=zh, label_en=en)


class LevelReviewRead(BaseModel):
    """Whether a record's contact level counts for the score (contacts/level_review.py), as every read of a contact
    and an engagement serves it."""

    level_review: LevelReview = "confirmed"
    level_review_label: Label | None = None
    level_reported_by: str | None = None
    level_reviewed_by: str | None = None
    level_reviewed_at: datetime | None = None
    level_review_note: str | None = None


class ContactRead(LevelReviewRead):
    """A stored contact, with the labels of its role and attitude."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    name: str
    title: str | None
    level: ContactLevel
    email: str | None
    phone: str | None
    language: ContactLanguage
    role: BuyingRole | None = None
    role_label: Label | None = None
    attitude: Attitude | None = None
    attitude_label: Label | None = None
    reports_to_id: str | None = None
    active: bool = True
    retired_at: datetime | None = None
    retired_by: str | None = None
    retire_reason: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime | None = None

    @classmethod
    def of(cls, contact: Any) -> ContactRead:
        """A contact row as served."""
        read = cls.model_validate(contact)
        read.role_label = label_of(ROLE_LABELS, contact.role)
        read.attitude_label = label_of(ATTITUDE_LABELS, contact.attitude)
        read.level_review_label = label_of(LEVEL_REVIEW_LABELS, contact.level_review)
        read.active = contact.retired_at is None
        return read


class ContactChange(BaseModel):
    """One entry of a contact's history: who changed what, from what to what."""

    at: datetime
    actor_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class OrgChartNode(BaseModel):
    """A contact in the org chart with the contacts reporting to them."""

    contact: ContactRead
    reports: list[OrgChartNode]


class OrgChart(BaseModel):
    """An account's org chart: the contacts reporting to no one at the top (active contacts only)."""

    account_id: str
    roots: list[OrgChartNode]


OrgChartNode.model_rebuild()


class LevelReviewDecision(RequestBody):
    """A KA supervisor's decision on a level an account manager reported: ``confirmed`` (it counts for the score) or
    ``rejected`` (it does not; a note says why)."""

    decision: Literal["confirmed", "rejected"]
    note: str | None = Field(default=None, min_length=1, max_length=2000, description="Why (required to reject)")


class LevelReviewQuery(BaseModel):
    """Filters of the level-review queue (query parameters)."""

    status: LevelReview = Field(default="pending", description="Default: pending")
    kind: Literal["contact", "engagement"] | None = None
    account_id: str | None = Field(default=None, max_length=36)
    reported_by: str | None = Field(default=None, max_length=100)


class LevelReviewItem(BaseModel):
    """One reported level in the queue: a contact or a held engagement, its account, and whether confirming it would
    raise the level that counts for the account's score."""

    kind: Literal["contact", "engagement"]
    id: str
    account_id: str
    account_name: str
    level: ContactLevel
    summary: str
    occurred_on: date | None = None
    level_review: LevelReview
    level_review_label: Label
    level_reported_by: str | None
    reported_at: datetime
    level_reviewed_by: str | None = None
    level_reviewed_at: datetime | None = None
    level_review_note: str | None = None
    counted_level: ContactLevel | None = Field(description="The highest level that counts for the account now")
    would_raise: bool = Field(description="Confirming it raises the level that counts (and may move the score)")
