"""Request and response bodies of improvement: root cause, actions, remedies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.api import Instant, MoneyStr, RequestBody
from shared.money import CurrencyCode, NonNegativeAmount

ActionStatus = Literal["open", "done", "verified"]
# What a PATCH may set: open or done (``verified`` only through the verification step).
ActionMark = Literal["open", "done"]
ActionKind = Literal["corrective", "preventive"]
RemedyKind = Literal["value_added_service", "discount", "credit_note", "replacement", "other"]
RemedyStatus = Literal["proposed", "awaiting_second", "approved", "rejected"]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RootCauseBody(RequestBody):
    """The root cause: a taxonomy category and a description."""

    category: str = Field(min_length=1, max_length=50)
    description: str = Field(min_length=1, max_length=20000)


class ActionCreate(RequestBody):
    """A corrective or preventive action."""

    kind: ActionKind
    description: str = Field(min_length=1, max_length=5000)
    owner_id: str = Field(
        min_length=1, max_length=100, description="A known, active user who may work complaints and sees the account"
    )
    due_at: Instant = Field(description="An offset is required")


class ActionStatusBody(RequestBody):
    """Open or done (done awaits its verification before it counts)."""

    status: ActionMark


class ActionVerification(RequestBody):
    """The verification of a done action: was it effective? Yes: verified (counts as done); no: open again."""

    effective: bool
    note: str = Field(min_length=1, max_length=5000, description="What was checked")


class ActionRead(_Read):
    """A corrective or preventive action."""

    id: str
    kind: ActionKind
    description: str
    owner_id: str
    due_at: datetime
    status: ActionStatus
    done_at: datetime | None
    effective: bool | None = None
    verified_by: str | None = None
    verified_at: datetime | None = None
    verification_note: str | None = None


class RemedyCreate(RequestBody):
    """A goodwill remedy proposal: its value is an amount in an ISO 4217 currency."""

    kind: RemedyKind
    description: str = Field(min_length=1, max_length=5000)
    value: NonNegativeAmount
    currency: CurrencyCode = "CNY"


class RemedyDecision(RequestBody):
    """Approve or reject a remedy."""

    approve: bool


class RemedyRead(_Read):
    """A goodwill remedy."""

    id: str
    kind: RemedyKind
    description: str
    value: MoneyStr
    currency: str
    status: RemedyStatus
    proposed_by: str
    decided_by: str | None
    decided_at: datetime | None
    first_approved_by: str | None = None
    first_approved_at: datetime | None = None
