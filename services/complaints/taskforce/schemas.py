"""Request and response bodies of the task force."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.api import Instant, RequestBody

Department = Literal["after_sales", "product", "quality", "logistics", "legal", "finance"]
TaskStatus = Literal["open", "done"]


class TaskCreate(RequestBody):
    """A task for one department of the task force."""

    department: Department
    title: str = Field(min_length=1, max_length=300)
    assignee_id: str = Field(
        min_length=1, max_length=100, description="A known, active user who may work complaints and sees the account"
    )
    due_at: Instant = Field(description="Within the customer's resolution due time; an offset is required")


class TaskStatusBody(RequestBody):
    """Open or done."""

    status: TaskStatus


class TaskRead(BaseModel):
    """A task-force task."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    department: Department
    title: str
    assignee_id: str
    due_at: datetime
    status: TaskStatus
    done_at: datetime | None
