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
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import GatewaySettings
from gateway.models import ApiKey, RefreshToken, User, audit_log
from gateway.schemas import ApiKeyCreate, ApiKeyRotate, TokenResponse
from gateway.scopes import SCOPES
from shared.audit import record_audit, snapshot
from shared.auth import ROLES, mint_token
from shared.errors import Conflict, NotFound, Unauthorized, Unprocessable
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


# ``revoked_at`` marks a refresh token spent by a rotation: only such a token coming back is a sign of theft (and
# ends every session). A session ended on purpose — logout, deactivation, a password reset, a detected reuse — has
# its token deleted, so that replaying it is just an invalid token and signs nobody out.


async def revoke_refresh_token(*, session: AsyncSession, refresh_token: str, now: datetime) -> None:
    """Log out one session (its token is deleted: a replay of it is refused like any unknown token)."""
    row = await session.get(RefreshToken, sha256_hex(refresh_token))
    if row is not None and row.revoked_at is None:
        await session.delete(row)
        await session.flush()


async def revoke_refresh_tokens(*, session: AsyncSession, user_id: str, now: datetime) -> None:
    """Log out every session of a user (their live tokens are deleted; spent ones stay to detect reuse)."""
    await session.execute(
        delete(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
    )


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """Validate scope names (422 naming the field); a family's write scope makes its read scope redundant."""
    chosen = set(scopes)
    unknown = sorted(chosen - set(SCOPES))
    if unknown:
        raise Unprocessable(f"Unknown scope(s): {', '.join(unknown)}; choose from {', '.join(SCOPES)}", field="scopes")
    if not chosen:
        raise Unprocessable("At least one scope is needed", field="scopes")
    return sorted(s for s in chosen if not (s.endswith(":read") and s.replace(":read", ":write") in chosen))


def key_expiry(*, expires_at: datetime | None, settings: GatewaySettings, now: datetime) -> datetime:
    """When a key made or renewed now expires: as asked (in the future, within the maximum lifetime) or after the
    default lifetime (422 naming ``expires_at`` otherwise)."""
    if expires_at is None:
        return now + timedelta(days=settings.api_key_default_lifetime_days)
    latest = now + timedelta(days=settings.api_key_max_lifetime_days)
    if expires_at <= now:
        raise Unprocessable("expires_at must be in the future", field="expires_at")
    if expires_at > latest:
        raise Unprocessable(
            f"expires_at may be at most {settings.api_key_max_lifetime_days} days ahead ({latest.isoformat()})",
            field="expires_at",
        )
    return expires_at


def _new_secret(key_id: str) -> tuple[str, str]:
    """A new secret for a key: (what the caller sends, the hash to store)."""
    secret = secrets.token_urlsafe(32)
    return f"{API_KEY_PREFIX}{key_id}_{secret}", sha256_hex(secret)


async def create_api_key(
    *, session: AsyncSession, body: ApiKeyCreate, created_by: str, settings: GatewaySettings, now: datetime
) -> tuple[ApiKey, str]:
    """A new API key; the secret is returned once and only its hash is stored."""
    roles, scopes = check_roles(body.roles), check_scopes(body.scopes)
    expires_at = key_expiry(expires_at=body.expires_at, settings=settings, now=now)
    key_id = secrets.token_hex(8)
    presented, secret_hash = _new_secret(key_id)
    key = ApiKey(
        key_id=key_id,
        name=body.name,
        secret_hash=secret_hash,
        roles=roles,
        scopes=scopes,
        created_by=created_by,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    await _audit_key(session, key, "api_key.created", actor_id=created_by, now=now, before=None)
    return key, presented


# What the audit log shows of an API key (never a secret or its hash).
API_KEY_AUDIT = ("name", "roles", "scopes", "expires_at", "rotated_at", "previous_secret_expires_at", "revoked_at")


async def _audit_key(
    session: AsyncSession, key: ApiKey, action: str, *, actor_id: str, now: datetime, before: dict[str, Any] | None
) -> None:
    await record_audit(
        session,
        audit_log,
        actor_id=actor_id,
        action=action,
        object_type="api_key",
        object_id=key.key_id,
        before=before,
        after=snapshot(key, API_KEY_AUDIT),
        at=now,
    )


async def _live_key(session: AsyncSession, key_id: str, now: datetime) -> ApiKey:
    """A key that may still be changed: 404 unknown, 409 revoked or expired."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is not None:
        raise Conflict(f"API key {key_id} has been revoked; create a new key")
    if key.expires_at <= now:
        raise Conflict(f"API key {key_id} expired at {key.expires_at.isoformat()}; create a new key")
    return key


async def rotate_api_key(
    *,
    session: AsyncSession,
    key_id: str,
    body: ApiKeyRotate,
    settings: GatewaySettings,
    now: datetime,
    actor_id: str,
) -> tuple[ApiKey, str]:
    """A new secret for a live key; the current one keeps working for the grace period (two live secrets during
    a roll-over, never three: a secret replaced by an earlier rotation stops at once)."""
    key = await _live_key(session, key_id, now)
    before = snapshot(key, API_KEY_AUDIT)
    grace = settings.api_key_rotation_grace_seconds if body.grace_seconds is None else body.grace_seconds
    if grace > settings.api_key_max_rotation_grace_seconds:
        raise Unprocessable(
            f"grace_seconds may be at most {settings.api_key_max_rotation_grace_seconds}", field="grace_seconds"
        )
    presented, secret_hash = _new_secret(key.key_id)
    key.previous_secret_hash = key.secret_hash if grace > 0 else None
    key.previous_secret_expires_at = now + timedelta(seconds=grace) if grace > 0 else None
    key.secret_hash = secret_hash
    key.rotated_at = now
    if body.expires_at is not None:
        key.expires_at = key_expiry(expires_at=body.expires_at, settings=settings, now=now)
    await session.flush()
    await _audit_key(session, key, "api_key.rotated", actor_id=actor_id, now=now, before=before)
    return key, presented


async def list_api_keys(*, session: AsyncSession) -> list[ApiKey]:
    """Every API key (without secrets), newest first."""
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.key_id)))


async def revoke_api_key(*, session: AsyncSession, key_id: str, now: datetime, actor_id: str) -> ApiKey:
    """Revoke a key; it stops working on the next request."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is None:
        before = snapshot(key, API_KEY_AUDIT)
        key.revoked_at = now
        await session.flush()
        await _audit_key(session, key, "api_key.revoked", actor_id=actor_id, now=now, before=before)
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
    """The live key for a presented secret — its current one, or the one a rotation replaced while its grace period
    lasts — recording its last use; else 401 saying why (unknown, revoked, expired, replaced)."""
    parts = split_api_key(presented)
    key = await session.get(ApiKey, parts[0]) if parts else None
    if key is None or parts is None:
        raise Unauthorized("Invalid API key")
    presented_hash = sha256_hex(parts[1])
    current = hmac.compare_digest(key.secret_hash, presented_hash)
    previous = key.previous_secret_hash is not None and hmac.compare_digest(key.previous_secret_hash, presented_hash)
    if not current and not previous:
        raise Unauthorized("Invalid API key")
    if key.revoked_at is not None:
        raise Unauthorized("API key has been revoked")
    if key.expires_at <= now:
        raise Unauthorized(f"API key expired at {key.expires_at.isoformat()}; ask an admin for a new key")
    if not current and key.previous_secret_expires_at is not None and key.previous_secret_expires_at <= now:
        raise Unauthorized(
            f"This API key secret was replaced by a rotation; its grace period ended at "
            f"{key.previous_secret_expires_at.isoformat()} — use the new secret"
        )
    if key.last_used_at is None or now - key.last_used_at > timedelta(seconds=1):
        key.last_used_at = now
        await session.flush()
    return key
