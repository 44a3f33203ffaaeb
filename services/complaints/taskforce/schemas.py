"""Request and response bodies of the task force."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.api import Instant, RequestBody

# A department code; which ones exist is configuration (``KAM_COMPLAINTS_TASK_DEPARTMENTS``), checked on create.
Department = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[a-z][a-z0-9_]*$")]
TaskStatus = Literal["open", "done"]


class TaskCreate(RequestBody):
    """A task for one department of the task force."""

    department: Department
    title: str = Field(min_length=1, max_length=300)
    assignee_id: str = Field(
        min_length=1, max_length=100, description="A known, active user who may work complaints and sees the account"
    )
    due_at: Instant = Field(
        description="In the future and within the customer's resolution due time (while the SLA is paused: the due "
        "time it would move to if resumed now); an offset is required"
    )


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
    overdue: bool = Field(default=False, description="Open and past its due time (judged at the request)")


class TaskListItem(TaskRead):
    """A task in the task list, with its complaint."""

    complaint_id: str
    account_id: str
    complaint_title: str


class TaskList(BaseModel):
    """A page of tasks; ``overdue_total`` counts the overdue ones among all that match."""

    items: list[TaskListItem]
    total: int
    overdue_total: int
    limit: int
    offset: int


class DepartmentList(BaseModel):
    """The task force's departments (configuration)."""

    items: list[str]
