"""Request and response models of the cross-department project sub-domain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from services.goals.money import MoneyStr
from shared.api import RequestBody

PartStatus = Literal["open", "in_progress", "delivered", "accepted", "rejected", "cancelled"]
Department = Annotated[str, Field(min_length=1, max_length=40, description="one of the configured departments")]
UserId = Annotated[str, Field(min_length=1, max_length=100)]
Text300 = Annotated[str, Field(min_length=1, max_length=300)]
Note = Annotated[str, Field(max_length=2000)]


class PartCreate(RequestBody):
    """A department's part: what is asked of it, its owner (a real, active user) and due date."""

    department: Department
    title: Text300
    owner_id: UserId
    due_on: date = Field(description="a business date in the company's zone")


class ProjectCreate(RequestBody):
    """A customer's new project asked of several departments."""

    account_id: Annotated[str, Field(min_length=1, max_length=36)]
    title: Text300
    description: Annotated[str, Field(max_length=4000)] | None = None
    customer_project: Annotated[str, Field(max_length=300)] | None = None
    parts: list[PartCreate] = Field(min_length=1, max_length=12)


class PartUpdate(RequestBody):
    """A move of a part or a change of it (send ``If-Match`` with the part's ETag).

    The part's owner moves it open → in_progress → delivered (and rejected → in_progress); the account side
    accepts or rejects a delivered part (with a note) and may change owner, due date or title, or cancel it."""

    status: PartStatus | None = None
    acceptance_note: Note | None = None
    title: Text300 | None = None
    owner_id: UserId | None = None
    due_on: date | None = None


class PartRead(BaseModel):
    """A department's part of a project."""

    id: str
    project_id: str
    account_id: str
    department: str
    title: str
    owner_id: str
    due_on: date
    status: PartStatus
    overdue: bool
    acceptance_note: str | None
    accepted_by: str | None
    accepted_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class ProjectRead(BaseModel):
    """A project, its progress and the parts the caller may see (a department owner: only their own)."""

    id: str
    account_id: str
    title: str
    description: str | None
    customer_project: str | None
    requested_by: str
    progress_pct: MoneyStr | None = Field(description="accepted parts ÷ parts not cancelled × 100")
    parts_total: int
    parts_accepted: int
    parts_overdue: int
    parts: list[PartRead]
    created_at: datetime
    updated_at: datetime
    version: int


class MyPart(PartRead):
    """A part in its owner's queue, with its project's header."""

    project_title: str
    customer_project: str | None
