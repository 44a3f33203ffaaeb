"""Request and response bodies of improvement: root cause, actions, remedies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.api import MoneyStr

ActionStatus = Literal["open", "done"]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


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


class ActionStatusBody(BaseModel):
    """Open or done."""

    status: ActionStatus


class ActionRead(_Read):
    """A corrective or preventive action."""

    id: str
    kind: str
    description: str
    owner_id: str
    due_at: datetime
    status: str
    done_at: datetime | None


class RemedyCreate(BaseModel):
    """A goodwill remedy proposal."""

    kind: Literal["value_added_service", "discount", "credit_note", "replacement", "other"]
    description: str = Field(min_length=1, max_length=5000)
    value: Decimal = Field(ge=0, max_digits=16, decimal_places=4)
    currency: str = Field(default="CNY", min_length=3, max_length=3)


class RemedyDecision(BaseModel):
    """Approve or reject a remedy."""

    approve: bool


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
