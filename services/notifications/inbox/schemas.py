"""Response and request models of the in-app inbox."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.api import Instant, RequestBody


class InboxItem(BaseModel):
    """One notification in a user's inbox, with the link to its object in the console."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    account_id: str | None
    account_name: str | None
    subject: str
    body: str
    link: str
    due: str = Field(description="the due time in the company's zone, as the message says it")
    due_at: datetime | None
    critical: bool
    level: str | None
    object_type: str
    object_id: str
    language: str
    occurred_at: datetime
    created_at: datetime
    read_at: datetime | None
    read: bool


class UnreadCount(BaseModel):
    """How many of the user's notifications are unread (and how many of those are critical)."""

    unread: int
    critical: int


class ReadAll(RequestBody):
    """Mark read what arrived up to ``before`` (default: now), so that what came in meanwhile stays unread."""

    before: Instant | None = None
    kind: str | None = Field(default=None, max_length=100)


class ReadAllResult(BaseModel):
    """How many notifications were marked read."""

    marked: int
