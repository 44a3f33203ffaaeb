"""Request and response bodies of the gateway's own routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TokenResponse(BaseModel):
    """OAuth2 token response (RFC 6749 §5.1) plus the refresh token and roles."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str
    roles: list[str]


class RefreshRequest(BaseModel):
    """A refresh token to spend (or to revoke on logout)."""

    refresh_token: str = Field(min_length=10, max_length=200)


class Me(BaseModel):
    """The caller."""

    user_id: str
    name: str
    roles: list[str]
    kind: str


class UserCreate(BaseModel):
    """A new user."""

    user_id: str = Field(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9._@-]+$")
    name: str = Field(default="", max_length=200)
    password: str = Field(min_length=8, max_length=200)
    roles: list[str] = Field(min_length=1)


class UserUpdate(BaseModel):
    """Changes to a user (absent fields stay)."""

    name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    roles: list[str] | None = None
    active: bool | None = None


class UserRead(BaseModel):
    """A user (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    user_id: str
    name: str
    roles: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


class ApiKeyCreate(BaseModel):
    """A new API key for an enterprise system."""

    name: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(default_factory=lambda: ["service"], min_length=1)


class ApiKeyRead(BaseModel):
    """An API key without its secret."""

    model_config = ConfigDict(from_attributes=True)

    key_id: str
    name: str
    roles: list[str]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    """The new key, with its secret shown this once (send it as ``X-API-Key``)."""

    api_key: str


class MyAccount(BaseModel):
    """An account in the caller's book."""

    account_id: str
    name: str
    name_en: str | None = None
    industry: str | None = None
    region: str | None = None
    tier: str | None = None
    status: str | None = None
    owner_id: str | None = None
    team_member_ids: list[str] = []
    relation: Literal["owner", "member"]
