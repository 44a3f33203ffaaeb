"""The console's session: the gateway's own tokens kept in HttpOnly, SameSite=Strict cookies, refreshed
transparently, and a signed double-submit CSRF token required on every console POST.

The cookies authenticate the console's pages only: ``/api/v1`` reads credentials from headers alone (a bearer
token or an API key), so a cookie can never make a cross-site API call on a user's behalf.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from functools import lru_cache

from fastapi import Request, Response

from gateway import identity
from gateway.runtime import GatewayRuntime, runtime_of
from gateway.schemas import TokenResponse
from gateway.security import Caller, from_access_token
from shared.errors import DomainError, Unauthorized
from shared.observability import HstsPolicy

ACCESS_COOKIE = "kam_console_access"
REFRESH_COOKIE = "kam_console_refresh"
CSRF_COOKIE = "kam_console_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class LoginRequired(DomainError):
    """No console session (or it ended): the page sends the browser to the login form."""

    status, code = 401, "login-required"


class CsrfRefused(DomainError):
    """A console POST without the session's CSRF token."""

    status, code = 403, "csrf-refused"


@dataclass
class CookieJar:
    """Cookies a request decided to set or clear; applied to whatever response the route makes."""

    pending: dict[str, tuple[str, int]] = field(default_factory=dict)  # name → (value, max-age seconds)
    cleared: set[str] = field(default_factory=set)

    def apply(self, response: Response, *, secure: bool) -> None:
        """Write the pending cookies onto a response."""
        for name, (value, max_age) in self.pending.items():
            response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict", secure=secure)
        for name in self.cleared:
            response.delete_cookie(name, path="/", httponly=True, samesite="strict", secure=secure)


def jar_of(request: Request) -> CookieJar:
    """The request's pending cookies."""
    jar: CookieJar | None = getattr(request.state, "console_cookies", None)
    if jar is None:
        jar = request.state.console_cookies = CookieJar()
    return jar


def is_secure(request: Request) -> bool:
    """Whether the browser reached us over HTTPS: directly, with TLS always in front (``hsts_enabled``), or through a
    proxy the gateway trusts (``forwarded_proto_trusted_from``, the rule of the HSTS header); ``X-Forwarded-Proto``
    from any other client is ignored."""
    settings = runtime_of(request).settings
    return _tls_policy(settings.hsts_enabled, tuple(settings.forwarded_proto_trusted_from)).applies(request.scope)


@lru_cache(maxsize=8)
def _tls_policy(always: bool, trusted_proxies: tuple[str, ...]) -> HstsPolicy:
    return HstsPolicy(always=always, trusted_proxies=trusted_proxies)


# ---------------------------------------------------------------- CSRF (signed double submit)


def _sign(runtime: GatewayRuntime, nonce: str) -> str:
    key = hashlib.sha256(("console-csrf:" + runtime.settings.jwt_secret).encode()).digest()
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()[:32]


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made, and set as a cookie, on first use): ``nonce.signature``."""
    runtime = runtime_of(request)
    pending = jar_of(request).pending.get(CSRF_COOKIE)
    current = pending[0] if pending else request.cookies.get(CSRF_COOKIE, "")
    if _valid_csrf(runtime, current):
        return current
    nonce = secrets.token_urlsafe(18)
    token = f"{nonce}.{_sign(runtime, nonce)}"
    jar_of(request).pending[CSRF_COOKIE] = (token, runtime.settings.refresh_token_ttl_seconds)
    return token


def _valid_csrf(runtime: GatewayRuntime, token: str) -> bool:
    nonce, _, signature = token.partition(".")
    return bool(nonce) and hmac.compare_digest(signature, _sign(runtime, nonce))


def check_csrf(request: Request, submitted: str | None) -> None:
    """403 unless the POST carries the token of its session cookie (header, or the form's field)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    presented = request.headers.get(CSRF_HEADER) or submitted or ""
    runtime = runtime_of(request)
    if not (cookie and presented and _valid_csrf(runtime, cookie) and hmac.compare_digest(cookie, presented)):
        raise CsrfRefused("The form's security token is missing or stale; reload the page and try again")


# ---------------------------------------------------------------- tokens in cookies


def keep_tokens(request: Request, tokens: TokenResponse) -> None:
    """Remember freshly issued tokens in the session cookies."""
    settings = runtime_of(request).settings
    jar = jar_of(request)
    jar.pending[ACCESS_COOKIE] = (tokens.access_token, tokens.expires_in)
    jar.pending[REFRESH_COOKIE] = (tokens.refresh_token, settings.refresh_token_ttl_seconds)
    jar.cleared.discard(ACCESS_COOKIE)
    jar.cleared.discard(REFRESH_COOKIE)


def forget_tokens(request: Request) -> None:
    """Clear the session cookies (the CSRF cookie stays for the login form)."""
    jar = jar_of(request)
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        jar.pending.pop(name, None)
        jar.cleared.add(name)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def log_in(request: Request, *, username: str, password: str) -> None:
    """Check the password as ``POST /api/v1/auth/token`` does (the same throttles, shared by every replica) and start
    a session."""
    runtime = runtime_of(request)
    await runtime.logins.check_client("login", _client(request))
    await runtime.logins.check_account(username)
    clock = request.app.state.clock
    async with request.app.state.db.transaction() as session:
        user = await identity.authenticate(
            session=session, passwords=runtime.passwords, user_id=username, password=password
        )
        await runtime.logins.succeeded(username, session=session)
        tokens = await identity.issue_tokens(session=session, user=user, settings=runtime.settings, now=clock.now())
    keep_tokens(request, tokens)


async def log_out(request: Request) -> None:
    """Revoke the session's refresh token and clear the cookies."""
    refresh = request.cookies.get(REFRESH_COOKIE)
    if refresh:
        async with request.app.state.db.transaction() as session:
            await identity.revoke_refresh_token(
                session=session, refresh_token=refresh, now=request.app.state.clock.now()
            )
    forget_tokens(request)


async def _refreshed(request: Request) -> str:
    """A new access token from the refresh cookie (rotated; a reused one ends every session of its user)."""
    refresh = request.cookies.get(REFRESH_COOKIE)
    if not refresh:
        raise LoginRequired("Log in to use the console")
    runtime = runtime_of(request)
    await runtime.logins.check_client("refresh", _client(request))
    now = request.app.state.clock.now()
    try:
        async with request.app.state.db.transaction() as session:
            user = await identity.rotate_refresh_token(session=session, refresh_token=refresh, now=now)
            tokens = await identity.issue_tokens(session=session, user=user, settings=runtime.settings, now=now)
    except identity.RefreshTokenReused as reused:
        async with request.app.state.db.transaction() as session:
            await identity.revoke_refresh_tokens(session=session, user_id=reused.user_id, now=now)
        forget_tokens(request)
        raise LoginRequired(reused.detail) from reused
    except Unauthorized as refused:
        forget_tokens(request)
        raise LoginRequired(refused.detail) from refused
    keep_tokens(request, tokens)
    return tokens.access_token


async def current_caller(request: Request) -> Caller:
    """The console user of this request (refreshing an expired access token), rate-limited as API callers are."""
    cached: Caller | None = getattr(request.state, "console_caller", None)
    if cached is not None:
        return cached
    access = request.cookies.get(ACCESS_COOKIE)
    caller: Caller | None = None
    if access:
        try:
            caller = await from_access_token(request, access)
        except Unauthorized:
            caller = None
    if caller is None:
        try:
            caller = await from_access_token(request, await _refreshed(request))
        except Unauthorized as refused:  # the user was deactivated or lost every role meanwhile
            forget_tokens(request)
            raise LoginRequired(refused.detail) from refused
    await runtime_of(request).api_limit.check(caller.rate_key)
    request.state.console_caller = caller
    request.state.principal = caller.principal
    return caller
