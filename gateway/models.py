"""Tables of the gateway: identity (users, refresh tokens, API keys) and the accounts projection for access checks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Double, ForeignKey, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.api import idempotency_table
from shared.audit import audit_table
from shared.db import UTCDateTime, add_platform_tables, make_metadata


class Base(DeclarativeBase):
    """Declarative base with the house naming convention."""

    metadata = make_metadata()


platform = add_platform_tables(Base.metadata)
# Sensitive actions on users, roles and API keys (shared.audit; read at /api/v1/identity/audit, docs/AUDIT.md).
audit_log = audit_table(Base.metadata)
# Idempotency-Key claims and stored answers of the gateway's own creating POSTs (users, API keys): shared.idempotency.
idempotency_keys = idempotency_table(Base.metadata)


class User(Base):
    """A person who logs in with a password (argon2 hash); roles as in DESIGN §4; how to reach them.

    The gateway owns users: every visible change is published as an ``identity.*`` event in the same transaction,
    and ``published_at`` says when this user was last published (None: never — published once at start-up).
    """

    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    channels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # {"wecom": "LiLei", "feishu": "ou_…"}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class RefreshToken(Base):
    """A refresh token (only its SHA-256 is stored); rotated on every use."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_user", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(100), ForeignKey("users.user_id", ondelete="CASCADE"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class ApiKey(Base):
    """An enterprise system's key: a public prefix to find it, the SHA-256 of the secret, roles and scopes, an
    expiry, revocation; after a rotation the replaced secret's hash works until ``previous_secret_expires_at``."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)  # ["risk:read", "goals:write", …]
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class RateLimitBucket(Base):
    """One caller's bucket of one limit, shared by every gateway replica (``gateway.limits``): its theoretical
    arrival time in epoch seconds; a bucket whose ``tat`` has passed is full and may be deleted."""

    __tablename__ = "rate_limit_buckets"
    __table_args__ = (Index("ix_rate_limit_buckets_tat", "tat"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float] = mapped_column(Double())
