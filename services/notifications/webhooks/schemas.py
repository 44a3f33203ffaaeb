"""Request and response models of webhook subscriptions and test deliveries."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.notifications.routing.schemas import check_kind
from shared.api import RequestBody
from shared.vocabulary import TierCode


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("url must be an http(s) URL")
    return value


def _kinds(value: list[str]) -> list[str]:
    return sorted({check_kind(kind) for kind in value})


class WebhookCreate(RequestBody):
    """A subscription: where to post, which event kinds (or "*"), optionally only some tiers, and the secret the
    deliveries are signed with (generated when not given; shown once)."""

    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=10, max_length=1000)
    kinds: list[str] = Field(min_length=1, max_length=50)
    tiers: list[TierCode] = Field(default_factory=list, max_length=10)
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("kinds")
    @classmethod
    def _kind_list(cls, value: list[str]) -> list[str]:
        return _kinds(value)


class WebhookUpdate(RequestBody):
    """Changes to a subscription (a new secret takes effect for the next attempt)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, min_length=10, max_length=1000)
    kinds: list[str] | None = Field(default=None, min_length=1, max_length=50)
    tiers: list[TierCode] | None = Field(default=None, max_length=10)
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    enabled: bool | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @field_validator("kinds")
    @classmethod
    def _kind_list(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _kinds(value)


class WebhookRead(BaseModel):
    """A subscription (without its secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    url: str
    kinds: list[str]
    tiers: list[str]
    enabled: bool
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    """A new subscription with its secret (the only time it is shown)."""

    secret: str


class TestDeliveryResult(BaseModel):
    """What the subscriber answered to a signed test delivery."""

    delivery_id: str
    ok: bool
    status_code: int | None
    duration_ms: int
    error: str | None
    signature_header: str
