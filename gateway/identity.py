"""Identity: argon2 passwords, logins, access and refresh tokens, API keys (keyword-only, flush-only).

The users themselves (created, changed, published) are in ``gateway.users``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import GatewaySettings
from gateway.models import ApiKey, RefreshToken, User
from gateway.schemas import TokenResponse
from shared.auth import ROLES, mint_token
from shared.errors import NotFound, Unauthorized, Unprocessable
from shared.settings import ServiceSettings

API_KEY_PREFIX = "kam_"


class Passwords:
    """Argon2id hashing with the configured cost, run off the event loop (it is slow by design)."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Verified against when the user does not exist, so a login takes as long whether or not it exists.
        self.dummy_hash = self.hasher.hash("not-a-real-password")

    async def hash(self, password: str) -> str:
        """The hash to store."""
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether the password matches (always spends one verification)."""
        try:
            await asyncio.to_thread(self.hasher.verify, password_hash or self.dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return password_hash is not None


def sha256_hex(value: str) -> str:
    """Hex SHA-256 (for high-entropy secrets: refresh tokens and API keys)."""
    return hashlib.sha256(value.encode()).hexdigest()


def check_roles(roles: Iterable[str]) -> list[str]:
    """Validate role names (422 naming the field)."""
    chosen = sorted(set(roles))
    unknown = [r for r in chosen if r not in ROLES]
    if unknown:
        raise Unprocessable(f"Unknown role(s): {', '.join(unknown)}; choose from {', '.join(ROLES)}", field="roles")
    if not chosen:
        raise Unprocessable("At least one role is needed", field="roles")
    return chosen


async def authenticate(*, session: AsyncSession, passwords: Passwords, user_id: str, password: str) -> User:
    """The active user with this password, or 401 (same answer for unknown user and wrong password)."""
    user = await session.get(User, user_id)
    if not await passwords.verify(user.password_hash if user else None, password):
        user = None
    if user is None or not user.active:
        raise Unauthorized("Invalid user or password")
    return user


class RefreshTokenReused(Unauthorized):
    """A spent refresh token came back: it may have been stolen, so every session of the user must end."""

    def __init__(self, user_id: str) -> None:
        super().__init__("Refresh token was already used; all sessions of this user are revoked")
        self.user_id = user_id


def mint_access_token(
    settings: ServiceSettings,
    *,
    user_id: str,
    roles: Iterable[str],
    name: str,
    kind: str,
    ttl_seconds: float,
    now: datetime,
) -> str:
    """A signed access token with the platform's audience and issuer."""
    return mint_token(
        secret=settings.jwt_secret,
        user_id=user_id,
        roles=roles,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        algorithm=settings.jwt_algorithm,
        name=name,
        kind=kind,
        ttl=timedelta(seconds=ttl_seconds),
        now=now,
    )


async def issue_tokens(*, session: AsyncSession, user: User, settings: GatewaySettings, now: datetime) -> TokenResponse:
    """A fresh access token and a new refresh token (stored hashed), with the TTLs of the settings."""
    access_ttl, refresh_ttl = settings.access_token_ttl_seconds, settings.refresh_token_ttl_seconds
    refresh = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            token_hash=sha256_hex(refresh),
            user_id=user.user_id,
            issued_at=now,
            expires_at=now + timedelta(seconds=refresh_ttl),
        )
    )
    await session.flush()
    access = mint_access_token(
        settings, user_id=user.user_id, roles=user.roles, name=user.name, kind="user", ttl_seconds=access_ttl, now=now
    )
    return TokenResponse(access_token=access, refresh_token=refresh, expires_in=access_ttl, roles=list(user.roles))


async def rotate_refresh_token(*, session: AsyncSession, refresh_token: str, now: datetime) -> User:
    """Spend a refresh token (revoking it) and return its active user; reuse of a spent token revokes them all."""
    row = await session.get(RefreshToken, sha256_hex(refresh_token))
    if row is None or row.expires_at <= now:
        raise Unauthorized("Invalid or expired refresh token")
    if row.revoked_at is not None:
        raise RefreshTokenReused(row.user_id)
    user = await session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthorized("User is not active")
    row.revoked_at = now
    await session.flush()
    return user


async def revoke_refresh_token(*, session: AsyncSession, refresh_token: str, now: datetime) -> None:
    """Log out one session."""
    row = await session.get(RefreshToken, sha256_hex(refresh_token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        await session.flush()


async def revoke_refresh_tokens(*, session: AsyncSession, user_id: str, now: datetime) -> None:
    """Log out every session of a user."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def create_api_key(
    *, session: AsyncSession, name: str, roles: Iterable[str], created_by: str, now: datetime
) -> tuple[ApiKey, str]:
    """A new API key; the secret is returned once and only its hash is stored."""
    chosen = check_roles(roles)
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        key_id=key_id,
        name=name,
        secret_hash=sha256_hex(secret),
        roles=chosen,
        created_by=created_by,
        created_at=now,
    )
    session.add(key)
    await session.flush()
    return key, f"{API_KEY_PREFIX}{key_id}_{secret}"


async def list_api_keys(*, session: AsyncSession) -> list[ApiKey]:
    """Every API key (without secrets), newest first."""
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.key_id)))


async def revoke_api_key(*, session: AsyncSession, key_id: str, now: datetime) -> ApiKey:
    """Revoke a key; it stops working on the next request."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is None:
        key.revoked_at = now
        await session.flush()
    return key


def split_api_key(presented: str) -> tuple[str, str] | None:
    """``kam_<key_id>_<secret>`` → (key_id, secret), or None for something else."""
    if not presented.startswith(API_KEY_PREFIX):
        return None
    key_id, sep, secret = presented.removeprefix(API_KEY_PREFIX).partition("_")
    if not sep or not key_id or not secret:
        return None
    return key_id, secret


async def verify_api_key(*, session: AsyncSession, presented: str, now: datetime) -> ApiKey:
    """The live key for a presented secret (recording its last use), or 401."""
    parts = split_api_key(presented)
    key = await session.get(ApiKey, parts[0]) if parts else None
    if key is None or parts is None or not hmac.compare_digest(key.secret_hash, sha256_hex(parts[1])):
        raise Unauthorized("Invalid API key")
    if key.revoked_at is not None:
        raise Unauthorized("API key has been revoked")
    if key.last_used_at is None or now - key.last_used_at > timedelta(seconds=1):
        key.last_used_at = now
        await session.flush()
    return key
