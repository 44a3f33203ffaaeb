"""Auth primitives: verify JWTs, read roles, and check object-level access to accounts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from sqlalchemy import ColumnElement, Select, exists, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import PlatformTables
from shared.errors import Forbidden, NotFound, Unauthorized

ADMIN = "admin"
SUPERVISOR = "supervisor"
ACCOUNT_MANAGER = "account_manager"
RISK_OFFICER = "risk_officer"
VIEWER = "viewer"
SERVICE = "service"
# A department's owner (marketing, product, after-sales …) of parts of cross-department projects: sees only the
# parts assigned to them (and those projects' headers), never a whole account.
DEPARTMENT_OWNER = "department_owner"
# Reads the audit logs of sensitive actions (docs/AUDIT.md) and nothing else: no business data, no writes (combine
# with ``viewer`` to read the portfolio too).
AUDITOR = "auditor"
ROLES: tuple[str, ...] = (
    ADMIN,
    SUPERVISOR,
    ACCOUNT_MANAGER,
    RISK_OFFICER,
    VIEWER,
    SERVICE,
    DEPARTMENT_OWNER,
    AUDITOR,
)
# Roles no user or key can hold: the gateway mints them for one internal job. ``survey_responder`` answers a
# survey through its customer link (only the complaints service's respond endpoints accept it).
SURVEY_RESPONDER = "survey_responder"
INTERNAL_ROLES: tuple[str, ...] = (SURVEY_RESPONDER,)

# Roles that see the whole portfolio (everyone but account managers, who see their own book).
PORTFOLIO_ROLES = frozenset({ADMIN, SUPERVISOR, RISK_OFFICER, VIEWER, SERVICE})
# Roles that may change data at all (viewer is read-only).
WRITER_ROLES = frozenset({ADMIN, SUPERVISOR, ACCOUNT_MANAGER, RISK_OFFICER, SERVICE})


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, or an enterprise system through an API key."""

    user_id: str
    roles: frozenset[str]
    name: str = ""
    kind: str = "user"
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def has_any(self, roles: Iterable[str]) -> bool:
        """Whether the principal holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    @property
    def sees_whole_portfolio(self) -> bool:
        """False for pure account managers, who are limited to their own accounts."""
        return self.has_any(PORTFOLIO_ROLES)

    @property
    def can_write(self) -> bool:
        """Whether any of the roles may change data."""
        return self.has_any(WRITER_ROLES)


class TokenVerifier:
    """Verifies access tokens: signature (fixed algorithm, never ``none``), expiry, audience, issuer."""

    def __init__(self, *, secret: str, audience: str, issuer: str, algorithm: str = "HS256") -> None:
        self.secret = secret
        self.audience = audience
        self.issuer = issuer
        self.algorithm = algorithm

    def verify(self, token: str) -> Principal:
        """Return the principal of a valid access token or raise Unauthorized."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub", "aud", "iss"]},
                leeway=5,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Access token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"Invalid access token: {exc}") from exc
        if claims.get("typ", "access") != "access":
            raise Unauthorized("Not an access token")
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthorized("Invalid roles claim")
        return Principal(
            user_id=str(claims["sub"]),
            roles=frozenset(r for r in roles if r in ROLES or r in INTERNAL_ROLES),
            name=str(claims.get("name", "")),
            kind=str(claims.get("kind", "user")),
            claims=claims,
        )


def mint_token(
    *,
    secret: str,
    user_id: str,
    roles: Iterable[str],
    audience: str = "kam",
    issuer: str = "kam-gateway",
    name: str = "",
    kind: str = "user",
    ttl: timedelta = timedelta(minutes=15),
    algorithm: str = "HS256",
    token_type: str = "access",
    now: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Sign a token (the gateway issues them; tests mint their own with the configured key)."""
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": user_id,
        "roles": sorted(set(roles)),
        "name": name,
        "kind": kind,
        "aud": audience,
        "iss": issuer,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
        "typ": token_type,
    }
    if extra:
        claims.update(extra)
    return jwt.encode(claims, secret, algorithm=algorithm)


def bearer_token(request: Request) -> str:
    """The bearer token of a request, or Unauthorized."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing bearer token")
    return token.strip()


async def get_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller (the service never trusts a forwarded identity header)."""
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = verifier.verify(bearer_token(request))
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[..., Any]:
    """A dependency that admits only principals holding one of ``roles`` (admin always passes)."""
    allowed = frozenset(roles) | {ADMIN}

    async def _check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(allowed):
            raise Forbidden(f"This action needs one of the roles: {', '.join(sorted(allowed))}")
        return principal

    return _check


def require_writer(principal: Principal) -> None:
    """Refuse read-only principals."""
    if not principal.can_write:
        raise Forbidden("Read-only role cannot change data")


def visible_accounts_clause(
    tables: PlatformTables, principal: Principal, account_id_column: Any
) -> ColumnElement[bool]:
    """A WHERE clause limiting ``account_id_column`` to accounts the principal may see."""
    if principal.sees_whole_portfolio:
        return true()
    access = tables.account_access
    return exists(
        select(access.c.account_id).where(
            access.c.account_id == account_id_column, access.c.user_id == principal.user_id
        )
    )


def visible_account_ids(tables: PlatformTables, principal: Principal) -> Select[Any] | None:
    """A subquery of account ids the principal may see, or None when every account is visible."""
    if principal.sees_whole_portfolio:
        return None
    access = tables.account_access
    return select(access.c.account_id).where(access.c.user_id == principal.user_id)


async def can_access_account(
    session: AsyncSession, tables: PlatformTables, principal: Principal, account_id: str
) -> bool:
    """Whether the principal may see this account (owner or team member for account managers)."""
    if principal.sees_whole_portfolio:
        return True
    access = tables.account_access
    found = await session.scalar(
        select(access.c.account_id).where(access.c.account_id == account_id, access.c.user_id == principal.user_id)
    )
    return found is not None


async def ensure_account_access(
    session: AsyncSession, tables: PlatformTables, principal: Principal, account_id: str, *, write: bool = False
) -> dict[str, Any]:
    """The account's projection row if it exists and the principal may see it; 404 otherwise (never 403).

    ``write=True`` also refuses read-only roles.
    """
    accounts = tables.accounts
    row = (await session.execute(select(accounts).where(accounts.c.account_id == account_id))).mappings().first()
    if row is None or not await can_access_account(session, tables, principal, account_id):
        raise NotFound(f"Account {account_id} not found")
    if write:
        require_writer(principal)
    return dict(row)
