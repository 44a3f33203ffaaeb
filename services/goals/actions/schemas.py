"""Request and response models of the action-plan sub-domain."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.goals.money import MoneyStr
from services.goals.targets.schemas import Metric

ActionStatus = Literal["open", "in_progress", "done", "cancelled"]


class ActionItemCreate(BaseModel):
    """A new action item under a target."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=4000)
    owner_id: str = Field(min_length=1, max_length=100)
    due_date: date
    expected_impact: Decimal | None = Field(default=None, max_digits=18, decimal_places=4)
    linked_metric: Metric | None = None
    status: ActionStatus = Field(default="open", description="an item may be recorded in any state")


class ActionItemUpdate(BaseModel):
    """Changes to an action item (status moves along open → in_progress → done; cancelled from any open state)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=4000)
    owner_id: str | None = Field(default=None, min_length=1, max_length=100)
    due_date: date | None = None
    status: ActionStatus | None = None
    expected_impact: Decimal | None = Field(default=None, max_digits=18, decimal_places=4)


class ActionItemRead(BaseModel):
    """An action item."""

    id: str
    target_id: str
    account_id: str | None
    title: str
    description: str | None
    owner_id: str
    due_date: date
    status: str
    overdue: bool
    expected_impact: MoneyStr | None
    linked_metric: str | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
