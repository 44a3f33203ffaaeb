"""Who is calling the gateway: a bearer JWT or an API key; then rate limit and the route × role matrix."""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import Request

from gateway import identity
from gateway.policy import allowed
from gateway.runtime import runtime_of
from shared.auth import Principal, TokenVerifier
from shared.errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class Caller:
    """A verified caller and the bearer token to forward to the services on its behalf."""

    principal: Principal
    forward_token: str
    rate_key: str

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
        key_id, name, roles = key.key_id, key.name, list(key.roles)
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
    return Caller(principal=principal, forward_token=cached[1], rate_key=f"key:{key_id}")


async def authenticate(request: Request) -> Caller:
    """Verify the caller's credentials (401 for missing, expired, tampered, ``alg=none`` or revoked)."""
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
    runtime = runtime_of(request)
    cached = runtime.verified_tokens.get(value)
    if cached is not None and cached[0] > time.time():
        principal = cached[1]
    else:
        # Verification costs more than the rest of a cached overview; a verified token stays valid until its
        # expiry (access tokens are not revocable), so remember it until then.
        verifier: TokenVerifier = request.app.state.token_verifier
        principal = verifier.verify(value)
        if len(runtime.verified_tokens) >= 10_000:
            runtime.verified_tokens.clear()
        runtime.verified_tokens[value] = (float(principal.claims["exp"]), principal)
    return Caller(principal=principal, forward_token=value, rate_key=f"user:{principal.user_id}")


async def authorize(request: Request) -> Caller:
    """Authenticate, rate-limit per user or key, and apply the route × role matrix (403)."""
    actor = await authenticate(request)
    request.state.principal = actor.principal
    runtime_of(request).limiter.check(actor.rate_key)
    if not allowed(request.method, request.url.path, actor.principal.roles):
        raise Forbidden("Your role may not call this route")
    return actor
