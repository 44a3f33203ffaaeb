"""Request and response bodies of the gateway's own routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from shared.api import RequestBody
from shared.auth import ROLES
from shared.vocabulary import TierCode

# The roles of DESIGN §4 as a closed vocabulary of requests and responses (the same as shared.auth.ROLES).
Role = Literal["admin", "supervisor", "account_manager", "risk_officer", "viewer", "service", "department_owner"]
assert get_args(Role) == ROLES
Roles = Annotated[list[Role], Field(min_length=1, max_length=len(ROLES))]

# How a user can be reached besides the platform: the messaging systems a KA team uses, by their user id there.
ContactChannel = Literal["email", "wecom", "dingtalk", "feishu"]
CONTACT_CHANNELS: tuple[ContactChannel, ...] = get_args(ContactChannel)
ChannelId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
Channels = Annotated[dict[ContactChannel, ChannelId], Field(max_length=len(CONTACT_CHANNELS))]
Email = Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
UserId = Annotated[str, Field(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9._@-]+$")]
DisplayName = Annotated[str, Field(max_length=200)]
Password = Annotated[str, Field(min_length=8, max_length=200)]


class TokenResponse(BaseModel):
    """OAuth2 token response (RFC 6749 §5.1) plus the refresh token and roles."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str
    roles: list[Role]


class RefreshRequest(RequestBody):
    """A refresh token to spend (or to revoke on logout)."""

    refresh_token: str = Field(min_length=10, max_length=200)


class Me(BaseModel):
    """The caller (``roles``: those of the token the user still holds)."""

    user_id: str
    name: str
    roles: list[Role]
    kind: Literal["user", "service"]


class UserCreate(RequestBody):
    """A new user."""

    user_id: UserId
    name: DisplayName = ""
    password: Password
    roles: Roles
    email: Email | None = None
    channels: Channels = Field(default_factory=dict)


class UserUpdate(RequestBody):
    """Changes to a user (absent fields stay; ``email: null`` removes the address, ``channels`` replaces them all)."""

    name: DisplayName | None = None
    password: Password | None = None
    roles: Roles | None = None
    active: bool | None = None
    email: Email | None = None
    channels: Channels | None = None


class UserRead(BaseModel):
    """A user (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    user_id: str
    name: str
    roles: list[Role]
    active: bool
    email: str | None = None
    channels: dict[ContactChannel, str] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class ApiKeyCreate(RequestBody):
    """A new API key for an enterprise system."""

    name: str = Field(min_length=1, max_length=200)
    roles: Roles = Field(default_factory=lambda: list[Role](["service"]))


class ApiKeyRead(BaseModel):
    """An API key without its secret."""

    model_config = ConfigDict(from_attributes=True)

    key_id: str
    name: str
    roles: list[Role]
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
    tier: TierCode | None = None
    status: str | None = None
    owner_id: str | None = None
    team_member_ids: list[str] = []
    relation: Literal["owner", "member"]
