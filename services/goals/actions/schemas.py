"""Request and response models of the action-plan sub-domain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.goals.money import MoneyStr
from services.goals.targets.schemas import Metric
from shared.api import RequestBody
from shared.money import Amount

ActionStatus = Literal["open", "in_progress", "done", "cancelled"]


class ActionItemCreate(RequestBody):
    """A new action item under a target (its owner: a known, active user who can see the account)."""

    title: str = Field(min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=4000)
    owner_id: str = Field(min_length=1, max_length=100)
    due_date: date = Field(description="a business date in the company's zone")
    expected_impact: Amount | None = Field(default=None, description="in the target's unit (its currency)")
    linked_metric: Metric | None = None
    status: ActionStatus = Field(default="open", description="an item may be recorded in any state")


class ActionItemUpdate(RequestBody):
    """Changes to an action item (status moves along open → in_progress → done; cancelled from any open state)."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=4000)
    owner_id: str | None = Field(default=None, min_length=1, max_length=100)
    due_date: date | None = None
    status: ActionStatus | None = None
    expected_impact: Amount | None = None


class ActionItemRead(BaseModel):
    """An action item."""

    id: str
    target_id: str
    account_id: str | None
    title: str
    description: str | None
    owner_id: str
    due_date: date
    status: ActionStatus
    overdue: bool
    expected_impact: MoneyStr | None
    linked_metric: Metric | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
