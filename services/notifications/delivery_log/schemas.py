"""Response models and filters of the delivery log."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.notifications.delivery.schemas import Channel, DeliveryStatus


class AttemptRead(BaseModel):
    """One try of a delivery."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    started_at: datetime
    duration_ms: int
    outcome: str
    status_code: int | None
    error: str | None


class DeliveryRead(BaseModel):
    """A delivery as the log shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    notification_id: str
    event_id: str
    kind: str
    account_id: str | None
    recipient: str
    user_id: str | None
    channel: str
    target: str
    status: str
    critical: bool
    attempts: int
    next_attempt_at: datetime | None
    held_until: datetime | None
    digest_id: str | None
    last_error: str | None
    last_status_code: int | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


class DeliveryDetail(DeliveryRead):
    """A delivery with its message subject and every attempt."""

    subject: str
    attempt_log: list[AttemptRead]


class DeliveryFilters(BaseModel):
    """The filters of the delivery log."""

    status: DeliveryStatus | None = None
    channel: Channel | None = None
    kind: str | None = Field(default=None, max_length=100)
    user_id: str | None = Field(default=None, max_length=100)
    recipient: str | None = Field(default=None, max_length=150)
    event_id: str | None = Field(default=None, max_length=120)
    account_id: str | None = Field(default=None, max_length=36)
    since: datetime | None = None
    until: datetime | None = None


class DeliveryStats(BaseModel):
    """Counts of the queue by channel and status."""

    by_status: dict[str, int]
    by_channel: dict[str, dict[str, int]]


class ReplayResult(BaseModel):
    """Deliveries put back in the queue."""

    replayed: int
    ids: list[str]
