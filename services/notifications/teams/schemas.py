"""Request and response models of teams."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.notifications.routing.schemas import Code
from shared.api import RequestBody

UserId = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class TeamCreate(RequestBody):
    """An account team: the robots bound to its code and its supervisor are what its members' accounts use."""

    code: Code
    name: str = Field(min_length=1, max_length=200)
    supervisor_id: str | None = Field(default=None, min_length=1, max_length=100)
    member_ids: list[UserId] = Field(default_factory=list, max_length=500)


class TeamUpdate(RequestBody):
    """Changes to a team."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    supervisor_id: str | None = Field(default=None, min_length=1, max_length=100)
    member_ids: list[UserId] | None = Field(default=None, max_length=500)


class TeamRead(BaseModel):
    """A team."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    supervisor_id: str | None
    member_ids: list[str]
    version: int
    updated_at: datetime
