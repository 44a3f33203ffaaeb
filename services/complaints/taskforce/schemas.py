"""Request and response bodies of the task force."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Department = Literal["after_sales", "product", "quality", "logistics", "legal", "finance"]
TaskStatus = Literal["open", "done"]


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


class TaskStatusBody(BaseModel):
    """Open or done."""

    status: TaskStatus


class TaskRead(BaseModel):
    """A task-force task."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    department: str
    title: str
    assignee_id: str
    due_at: datetime
    status: str
    done_at: datetime | None
