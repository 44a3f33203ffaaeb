"""Who is calling the gateway: a bearer JWT or an API key; then rate limit and the route × role matrix."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request

from gateway import identity
from gateway.policy import allowed
from gateway.runtime import GatewayRuntime, runtime_of
from gateway.scopes import granted, required_scope
from shared.auth import Principal, TokenVerifier
from shared.errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class Caller:
    """A verified caller and the bearer token to forward to the services on its behalf."""

    principal: Principal
    forward_token: str
    rate_key: str
    scopes: frozenset[str] | None = None  # an API key's scopes (gateway.scopes); None: a user, not narrowed by scope

    def forward_headers(self, request_id: str | None) -> dict[str, str]:
        """The headers that carry this caller (and the request id) to a service."""
        headers = {"authorization": f"Bearer {self.forward_token}"}
        if request_id:
            headers["x-request-id"] = request_id
        return headers


async def _from_api_key(request: Request, presented: str) -> Caller:
    runtime = runtime_of(request)
    clock = request.app.state.clock
    async with request.app.state.db.transaction() as session:
        key = await identity.verify_api_key(session=session, presented=presented, now=clock.now())
        key_id, name, roles, scopes = key.key_id, key.name, list(key.roles), frozenset(key.scopes)
    principal = Principal(user_id=f"apikey:{key_id}", roles=frozenset(roles), name=name, kind="service")
    ttl = runtime.settings.api_key_token_ttl_seconds
    cached = runtime.key_tokens.get(key_id)
    if cached is None or time.monotonic() - cached[0] > ttl / 2:
        token = identity.mint_access_token(
            runtime.settings,
            user_id=principal.user_id,
            roles=roles,
            name=name,
            kind="service",
            ttl_seconds=ttl,
            now=clock.now(),
        )
        cached = (time.monotonic(), token)
        runtime.key_tokens[key_id] = cached
    return Caller(principal=principal, forward_token=cached[1], rate_key=f"key:{key_id}", scopes=scopes)


def _narrowed(
    runtime: GatewayRuntime, principal: Principal, token: str, roles: frozenset[str]
) -> tuple[Principal, str]:
    """The principal with only ``roles`` and a token saying so, to forward (same expiry as the caller's token)."""
    key = (token, roles)
    cached = runtime.narrowed_tokens.get(key)
    if cached is None:
        now = datetime.now(UTC)
        expires = float(principal.claims["exp"])
        narrowed_token = identity.mint_access_token(
            runtime.settings,
            user_id=principal.user_id,
            roles=roles,
            name=principal.name,
            kind=principal.kind,
            ttl_seconds=expires - now.timestamp(),
            now=now,
        )
        claims = {**principal.claims, "roles": sorted(roles)}
        narrowed = Principal(
            user_id=principal.user_id, roles=roles, name=principal.name, kind=principal.kind, claims=claims
        )
        if len(runtime.narrowed_tokens) >= 10_000:
            runtime.narrowed_tokens.clear()
        cached = runtime.narrowed_tokens[key] = (narrowed, narrowed_token)
    return cached


async def _as_the_user_stands(runtime: GatewayRuntime, principal: Principal, token: str) -> tuple[Principal, str]:
    """Judge a user's token by what the users table says now: 401 for an unknown or deactivated user; roles
    withdrawn since the token was issued are dropped (from the gateway's decision and from the forwarded token).

    Tokens of integration keys (``kind=service``) name no user; the key itself is checked on every request.
    """
    if principal.kind == "service":
        return principal, token
    if principal.kind != "user":
        raise Unauthorized("Invalid access token: unknown kind of caller")
    standing = await runtime.users.standing(principal.user_id)
    if standing is None:
        raise Unauthorized("The user of this token does not exist")
    if not standing.active:
        raise Unauthorized("The user of this token has been deactivated")
    if principal.roles <= standing.roles:
        return principal, token
    roles = principal.roles & standing.roles
    if not roles:
        raise Unauthorized("The roles of this token have been withdrawn; log in again")
    return _narrowed(runtime, principal, token, roles)


async def authenticate(request: Request) -> Caller:
    """Verify the caller's credentials (401 for missing, expired, tampered, ``alg=none``, revoked, or a user who
    no longer exists or was deactivated)."""
    api_key = request.headers.get("x-api-key")
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if api_key:
        return await _from_api_key(request, api_key.strip())
    if scheme.lower() != "bearer" or not value:
        raise Unauthorized("Missing credentials: send a bearer token or an X-API-Key header")
    if value.startswith(identity.API_KEY_PREFIX):
        return await _from_api_key(request, value)
    return await from_access_token(request, value)


async def from_access_token(request: Request, value: str) -> Caller:
    """The caller of a user's access token (401 when it is invalid, expired, or its user no longer stands); the web
    console calls this with the token of its session cookie."""
    runtime = runtime_of(request)
    cached = runtime.verified_tokens.get(value)
    if cached is not None and cached[0] > time.time():
        principal = cached[1]
    else:
        # Verification costs more than the rest of a cached overview; a verified token's signature and claims stay
        # valid until its expiry, so remember them until then (whether its user still stands is checked below).
        verifier: TokenVerifier = request.app.state.token_verifier
        principal = verifier.verify(value)
        if len(runtime.verified_tokens) >= 10_000:
            runtime.verified_tokens.clear()
        runtime.verified_tokens[value] = (float(principal.claims["exp"]), principal)
    principal, forward_token = await _as_the_user_stands(runtime, principal, value)
    return Caller(principal=principal, forward_token=forward_token, rate_key=f"user:{principal.user_id}")


async def authorize(request: Request) -> Caller:
    """Authenticate, rate-limit per user or key, and apply the route × role matrix (403)."""
    actor = await authenticate(request)
    request.state.principal = actor.principal
    await runtime_of(request).api_limit.check(actor.rate_key)
    if not allowed(request.method, request.url.path, actor.principal.roles):
        raise Forbidden("Your role may not call this route")
    if actor.scopes is not None:
        needed = required_scope(request.method, request.url.path)
        if needed is not None and not granted(needed, actor.scopes):
            raise Forbidden(f"This API key lacks the scope {needed}", missing_scope=needed)
    return actor
