"""Request and response models of group robots."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from services.notifications.config import Language
from services.notifications.routing.schemas import check_kind
from shared.api import RequestBody

Provider = Literal["wecom", "dingtalk", "feishu"]
Scope = Literal["account", "team", "all"]


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("webhook_url must be an http(s) URL (the robot's webhook address)")
    return value


def _kinds(value: list[str]) -> list[str]:
    return sorted({check_kind(kind) for kind in value})


class RobotCreate(RequestBody):
    """A group robot: its webhook address (with its key), signing secret (DingTalk 加签 / Feishu 签名校验) and the
    account, team or company-wide scope whose notifications it posts."""

    name: str = Field(min_length=1, max_length=200)
    provider: Provider
    webhook_url: str = Field(min_length=10, max_length=1000)
    secret: str | None = Field(default=None, min_length=1, max_length=200)
    scope: Scope
    scope_id: str | None = Field(default=None, min_length=1, max_length=60, description="account id or team code")
    kinds: list[str] = Field(default_factory=lambda: ["*"], min_length=1, max_length=50)
    language: Language = "zh-CN"
    enabled: bool = True

    _url = field_validator("webhook_url")(_http_url)
    _kinds = field_validator("kinds")(_kinds)

    @model_validator(mode="after")
    def _scope_named(self) -> RobotCreate:
        if (self.scope == "all") != (self.scope_id is None):
            raise ValueError("scope_id: name the account or team for scope account/team, and none for all")
        return self


class RobotUpdate(RequestBody):
    """Changes to a robot (its scope stays; make a new robot for another group)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    webhook_url: str | None = Field(default=None, min_length=10, max_length=1000)
    secret: str | None = Field(default=None, min_length=1, max_length=200)
    kinds: list[str] | None = Field(default=None, min_length=1, max_length=50)
    language: Language | None = None
    enabled: bool | None = None

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @field_validator("kinds")
    @classmethod
    def _kind_list(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _kinds(value)


class RobotRead(BaseModel):
    """A robot; its key and secret are never shown again (the address is masked)."""

    id: str
    name: str
    provider: Provider
    webhook_url: str
    has_secret: bool
    scope: Scope
    scope_id: str | None
    kinds: list[str]
    language: str
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime


class RobotTestResult(BaseModel):
    """What the robot answered to a test message."""

    ok: bool
    status_code: int | None
    error: str | None
