"""Request and response bodies of the gateway's own routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from gateway.scopes import SCOPES
from shared.api import Instant, RequestBody
from shared.auth import ROLES
from shared.vocabulary import TierCode

# The roles of DESIGN §4 as a closed vocabulary of requests and responses (the same as shared.auth.ROLES).
Role = Literal[
    "admin", "supervisor", "account_manager", "risk_officer", "viewer", "service", "department_owner", "auditor"
]
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


# What an API key may reach (gateway.scopes): ``<family>:read`` or ``<family>:write``, checked by the gateway.
Scope = Annotated[str, Field(pattern=r"^[a-z-]+:(read|write)$", json_schema_extra={"enum": list(SCOPES)})]
Scopes = Annotated[list[Scope], Field(min_length=1, max_length=len(SCOPES))]


class ApiKeyCreate(RequestBody):
    """A new API key for an enterprise system: its roles (``viewer`` unless given; ``service`` only when asked
    for), the scopes it may use (always stated) and when it expires (default and maximum in the settings)."""

    name: str = Field(min_length=1, max_length=200)
    roles: Roles = Field(default_factory=lambda: list[Role](["viewer"]))
    scopes: Scopes
    expires_at: Instant | None = None


class ApiKeyRotate(RequestBody):
    """A rotation: a new secret now; the current one keeps working for ``grace_seconds`` (the setting's default
    unless given; 0 ends it at once); ``expires_at`` renews the key (else it keeps its expiry)."""

    grace_seconds: int | None = Field(default=None, ge=0)
    expires_at: Instant | None = None


class ApiKeyRead(BaseModel):
    """An API key without its secret (``previous_secret_expires_at``: until when the secret replaced by the last
    rotation still works)."""

    model_config = ConfigDict(from_attributes=True)

    key_id: str
    name: str
    roles: list[Role]
    scopes: list[str]
    created_by: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    rotated_at: datetime | None = None
    previous_secret_expires_at: datetime | None = None


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
