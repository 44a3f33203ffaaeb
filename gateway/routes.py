"""HTTP routes of the gateway: authentication, identity administration, composed views, and the proxy."""

from __future__ import annotations

import re
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import func, select

from gateway import composition, identity
from gateway.access import HIDDEN
from gateway.config import SERVICE_NAMES
from gateway.models import User, platform
from gateway.openapi import OPS_PATHS
from gateway.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    Me,
    MyAccount,
    Overview,
    Portfolio,
    RefreshRequest,
    TokenResponse,
    UserCreate,
    UserRead,
    UserUpdate,
)
from gateway.security import CallerDep, runtime_of
from gateway.upstream import IDEMPOTENT
from shared.api import Page, PageParams, page_params
from shared.errors import PROBLEM_RESPONSES, NotFound, problem
from shared.service import ClockDep, SessionDep

API = "/api/v1"
EDGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    429: {"description": "Too Many Requests (see Retry-After)"},
}

auth_router = APIRouter(prefix=f"{API}/auth", tags=["authentication"], responses=EDGE_RESPONSES)
router = APIRouter(prefix=API, responses=EDGE_RESPONSES)
proxy_router = APIRouter()


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ---------------------------------------------------------------- authentication


@auth_router.post("/token", summary="Log in (OAuth2 password flow)", response_model=TokenResponse)
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    clock: ClockDep,
) -> TokenResponse:
    """Exchange a user id and password for an access token and a refresh token."""
    runtime = runtime_of(request)
    runtime.login_limiter.check(f"login:{_client_address(request)}")
    user = await identity.authenticate(
        session=session, passwords=runtime.passwords, user_id=form.username, password=form.password
    )
    pair = await identity.issue_tokens(
        session=session,
        user=user,
        settings=runtime.settings,
        access_ttl=runtime.settings.access_token_ttl_seconds,
        refresh_ttl=runtime.settings.refresh_token_ttl_seconds,
        now=clock.now(),
    )
    return TokenResponse(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token, roles=pair.roles
    )


@auth_router.post("/refresh", summary="Exchange a refresh token for new tokens", response_model=TokenResponse)
async def refresh(
    request: Request, body: RefreshRequest, session: SessionDep, clock: ClockDep
) -> TokenResponse | JSONResponse:
    """Spend a refresh token (it is rotated: the old one stops working)."""
    runtime = runtime_of(request)
    runtime.login_limiter.check(f"refresh:{_client_address(request)}")
    try:
        user = await identity.rotate_refresh_token(session=session, refresh_token=body.refresh_token, now=clock.now())
    except identity.RefreshTokenReused as reused:
        # Answered rather than raised, so that the revocation commits with this request's transaction.
        await identity.revoke_refresh_tokens(session=session, user_id=reused.user_id, now=clock.now())
        return problem(401, reused.detail, code=reused.code, request=request, headers=reused.headers)
    pair = await identity.issue_tokens(
        session=session,
        user=user,
        settings=runtime.settings,
        access_ttl=runtime.settings.access_token_ttl_seconds,
        refresh_ttl=runtime.settings.refresh_token_ttl_seconds,
        now=clock.now(),
    )
    return TokenResponse(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token, roles=pair.roles
    )


@auth_router.post("/logout", summary="Revoke a refresh token", status_code=204)
async def logout(body: RefreshRequest, session: SessionDep, clock: ClockDep) -> Response:
    """End one session (access tokens expire on their own within minutes)."""
    await identity.revoke_refresh_token(session=session, refresh_token=body.refresh_token, now=clock.now())
    return Response(status_code=204)


# ---------------------------------------------------------------- the caller


@router.get("/me", summary="Who am I", response_model=Me, tags=["me"])
async def me(caller: CallerDep) -> Me:
    """The verified caller."""
    p = caller.principal
    return Me(user_id=p.user_id, name=p.name, roles=sorted(p.roles), kind=p.kind)


@router.get("/me/accounts", summary="My book: accounts I own or am on the team of", tags=["me"])
async def my_accounts(
    caller: CallerDep, session: SessionDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[MyAccount]:
    """Accounts the caller owns or is a team member of (from the gateway's accounts projection)."""
    accounts, access = platform.accounts, platform.account_access
    mine = (
        select(accounts, access.c.relation)
        .join(access, access.c.account_id == accounts.c.account_id)
        .where(access.c.user_id == caller.principal.user_id)
    )
    total = int(await session.scalar(select(func.count()).select_from(mine.subquery())) or 0)
    rows = (
        await session.execute(
            mine.order_by(accounts.c.name, accounts.c.account_id).limit(page.limit).offset(page.offset)
        )
    ).mappings()
    items = [MyAccount.model_validate({**row, "team_member_ids": row["team_member_ids"] or []}) for row in rows]
    return Page[MyAccount](items=items, total=total, limit=page.limit, offset=page.offset)


# ---------------------------------------------------------------- users and API keys (admin)


@router.get("/users", summary="List users", tags=["identity"])
async def users(_: CallerDep, session: SessionDep, page: Annotated[PageParams, Depends(page_params)]) -> Page[UserRead]:
    """Every user (admin)."""
    rows, total = await identity.list_users(session=session, limit=page.limit, offset=page.offset)
    return Page[UserRead](
        items=[UserRead.model_validate(u) for u in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("/users", summary="Create a user", status_code=201, response_model=UserRead, tags=["identity"])
async def create_user(body: UserCreate, request: Request, _: CallerDep, session: SessionDep, clock: ClockDep) -> User:
    """Create a user with roles (admin)."""
    return await identity.create_user(
        session=session,
        passwords=runtime_of(request).passwords,
        user_id=body.user_id,
        name=body.name,
        password=body.password,
        roles=body.roles,
        now=clock.now(),
    )


@router.get("/users/{user_id}", summary="One user", response_model=UserRead, tags=["identity"])
async def get_user(user_id: str, _: CallerDep, session: SessionDep) -> User:
    """One user (admin)."""
    return await identity.get_user(session=session, user_id=user_id)


@router.patch(
    "/users/{user_id}",
    summary="Change a user's name, roles, password or active flag",
    response_model=UserRead,
    tags=["identity"],
)
async def update_user(
    user_id: str, body: UserUpdate, request: Request, _: CallerDep, session: SessionDep, clock: ClockDep
) -> User:
    """Update a user (admin); deactivating or resetting the password ends their sessions."""
    return await identity.update_user(
        session=session,
        passwords=runtime_of(request).passwords,
        user_id=user_id,
        now=clock.now(),
        name=body.name,
        roles=body.roles,
        active=body.active,
        password=body.password,
    )


@router.get("/api-keys", summary="List API keys", response_model=list[ApiKeyRead], tags=["identity"])
async def api_keys(_: CallerDep, session: SessionDep) -> list[Any]:
    """Every API key without secrets (admin)."""
    return await identity.list_api_keys(session=session)


@router.post("/api-keys", summary="Create an API key", status_code=201, response_model=ApiKeyCreated, tags=["identity"])
async def create_api_key(body: ApiKeyCreate, caller: CallerDep, session: SessionDep, clock: ClockDep) -> ApiKeyCreated:
    """A key for an enterprise system, scoped to roles; the secret is shown once."""
    key, secret = await identity.create_api_key(
        session=session, name=body.name, roles=body.roles, created_by=caller.principal.user_id, now=clock.now()
    )
    return ApiKeyCreated.model_validate({**ApiKeyRead.model_validate(key).model_dump(), "api_key": secret})


@router.delete("/api-keys/{key_id}", summary="Revoke an API key", response_model=ApiKeyRead, tags=["identity"])
async def revoke_api_key(key_id: str, _: CallerDep, session: SessionDep, clock: ClockDep) -> Any:
    """Revoke a key; it stops working on the next request."""
    return await identity.revoke_api_key(session=session, key_id=key_id, now=clock.now())


# ---------------------------------------------------------------- composed views


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/accounts/{account_id}/overview",
    summary="Account 360: profile, score, complaints, credit and risk, targets — composed from every service",
    tags=["views"],
    responses={200: {"model": Overview}},
)
async def account_overview(account_id: str, request: Request, caller: CallerDep) -> Response:
    """Every service's section of one account; a section whose service is down is marked unavailable."""
    body = await composition.account_overview(
        runtime_of(request), caller, account_id, getattr(request.state, "request_id", None)
    )
    return _json(body)


@router.get(
    "/portfolio",
    summary="The supervisor's board (an account manager's own book) — composed from every service",
    tags=["views"],
    responses={200: {"model": Portfolio}},
)
async def portfolio(request: Request, caller: CallerDep) -> Response:
    """Tier distribution, SLA state, top risks, attainment and overdue engagements as each service reports them."""
    body = await composition.portfolio(runtime_of(request), caller, getattr(request.state, "request_id", None))
    return _json(body)


# ---------------------------------------------------------------- the proxy to the services

FORWARD_REQUEST_HEADERS = (
    "content-type",
    "accept",
    "accept-language",
    "if-match",
    "if-none-match",
    "idempotency-key",
)
DROP_RESPONSE_HEADERS = frozenset(
    {
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "date",
        "server",
        "x-request-id",
    }
)
ACCOUNT_IN_PATH = re.compile(r"(?:^|/)accounts/([^/]+)")


def route_to_service(path: str) -> tuple[str, str]:
    """(service, upstream path) for a path below /api/v1, or 404."""
    segments = path.strip("/").split("/")
    head = segments[0] if segments else ""
    if head == "ops" and len(segments) == 3 and segments[1] in SERVICE_NAMES and f"/{segments[2]}" in OPS_PATHS:
        return segments[1], f"/{segments[2]}"
    if head == "accounts":
        return "scoring", "/" + path.strip("/")
    if head in SERVICE_NAMES:
        return head, "/" + path.strip("/")
    raise NotFound(f"No route {API}/{path.strip('/')}")


def _account_id_of(upstream_path: str, request_body: bytes, response_body: bytes) -> str | None:
    match = ACCOUNT_IN_PATH.search(upstream_path)
    if match:
        return match.group(1)
    for raw in (request_body, response_body):
        try:
            value = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict) and isinstance(value.get("account_id"), str):
            return str(value["account_id"])
    return None


@proxy_router.api_route(
    API + "/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def proxy(path: str, request: Request, caller: CallerDep) -> Response:
    """Forward a public call to its service with the caller's token; writes invalidate the composed views."""
    runtime = runtime_of(request)
    service, upstream_path = route_to_service(path)
    match = ACCOUNT_IN_PATH.search(upstream_path)
    if match and not caller.principal.sees_whole_portfolio:
        visibility, _ = await runtime.access.check(caller.principal, match.group(1))
        if visibility == HIDDEN:
            raise NotFound(f"Account {match.group(1)} not found")
    headers = {k: v for k in FORWARD_REQUEST_HEADERS if (v := request.headers.get(k)) is not None}
    headers["authorization"] = f"Bearer {caller.forward_token}"
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        headers["x-request-id"] = request_id
    settings = runtime.settings
    if request.method == "POST" and request.url.path.rstrip("/") in settings.bulk_upload_paths:
        # Bulk uploads stream through (memory flat in file size); the edge already bounds their size.
        body = b""
        response = await runtime.upstreams[service].request(
            request.method,
            upstream_path,
            headers=headers,
            params=request.url.query or None,
            content=request.stream(),
            timeout=settings.upload_timeout_seconds,
        )
    else:
        body = await request.body()
        response = await runtime.upstreams[service].request(
            request.method, upstream_path, headers=headers, params=request.url.query or None, content=body or None
        )
    if request.method not in IDEMPOTENT and response.status_code < 400:
        # Make the caller's own change visible in the next overview at once (events follow for the rest).
        account_id = _account_id_of(upstream_path, body, response.content)
        runtime.changed(account_id, accounts_changed=service == "scoring" and account_id is None)
    out_headers = {k: v for k, v in response.headers.items() if k.lower() not in DROP_RESPONSE_HEADERS}
    out_headers["x-upstream-service"] = service
    return Response(content=response.content, status_code=response.status_code, headers=out_headers)
