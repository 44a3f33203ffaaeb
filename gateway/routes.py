"""HTTP routes of the gateway: authentication, identity administration, composed views, and the proxy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request, Response
from fastapi.responses import JSONResponse

from gateway import access, composition, identity, proxy, users
from gateway.deps import Actor, ClientAddress, Login, Paging, Runtime, UserById, request_id_of
from gateway.models import ApiKey, User, platform
from gateway.openapi import API_PREFIX
from gateway.runtime import runtime_of
from gateway.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    ApiKeyRotate,
    Me,
    MyAccount,
    RefreshRequest,
    TokenResponse,
    UserCreate,
    UserRead,
    UserUpdate,
)
from shared.api import Page
from shared.errors import PROBLEM_RESPONSES, problem
from shared.service import ClockDep, PublisherDep, SessionDep
from shared.views import AccountOverview, PortfolioBoard

EDGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    429: {"description": "Too Many Requests (see Retry-After)"},
}

auth_router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["authentication"], responses=EDGE_RESPONSES)
router = APIRouter(prefix=API_PREFIX, responses=EDGE_RESPONSES)
proxy_router = APIRouter()

ApiKeyId = Annotated[str, Path(min_length=1, max_length=32, pattern="^[0-9a-f]+$", description="The key's id")]
AccountId = Annotated[str, Path(min_length=1, max_length=100, description="The account's id")]


# ---------------------------------------------------------------- authentication


@auth_router.post("/token", summary="Log in (OAuth2 password flow)", response_model=TokenResponse)
async def login(
    form: Login,
    runtime: Runtime,
    client: ClientAddress,
    session: SessionDep,
    clock: ClockDep,
) -> TokenResponse:
    """Exchange a user id and password for an access token and a refresh token (throttled per client address and,
    for failed attempts, per account — on every replica together)."""
    await runtime.logins.check_client("login", client)
    await runtime.logins.check_account(form.username)
    user = await identity.authenticate(
        session=session, passwords=runtime.passwords, user_id=form.username, password=form.password
    )
    await runtime.logins.succeeded(form.username, session=session)
    return await identity.issue_tokens(session=session, user=user, settings=runtime.settings, now=clock.now())


@auth_router.post("/refresh", summary="Exchange a refresh token for new tokens", response_model=TokenResponse)
async def refresh(
    request: Request,
    body: RefreshRequest,
    runtime: Runtime,
    client: ClientAddress,
    session: SessionDep,
    clock: ClockDep,
) -> TokenResponse | JSONResponse:
    """Spend a refresh token (it is rotated: the old one stops working)."""
    await runtime.logins.check_client("refresh", client)
    try:
        user = await identity.rotate_refresh_token(session=session, refresh_token=body.refresh_token, now=clock.now())
    except identity.RefreshTokenReused as reused:
        # Answered rather than raised, so that the revocation commits with this request's transaction.
        await identity.revoke_refresh_tokens(session=session, user_id=reused.user_id, now=clock.now())
        return problem(401, reused.detail, code=reused.code, request=request, headers=reused.headers)
    return await identity.issue_tokens(session=session, user=user, settings=runtime.settings, now=clock.now())


@auth_router.post("/logout", summary="Revoke a refresh token", status_code=204)
async def logout(body: RefreshRequest, session: SessionDep, clock: ClockDep) -> Response:
    """End one session (access tokens expire on their own within minutes)."""
    await identity.revoke_refresh_token(session=session, refresh_token=body.refresh_token, now=clock.now())
    return Response(status_code=204)


# ---------------------------------------------------------------- the caller


@router.get("/me", summary="Who am I", response_model=Me, tags=["me"])
async def me(actor: Actor) -> Me:
    """The verified caller."""
    p = actor.principal
    return Me(user_id=p.user_id, name=p.name, roles=sorted(p.roles), kind=p.kind)


@router.get("/me/accounts", summary="My book: accounts I own or am on the team of", tags=["me"])
async def my_accounts(actor: Actor, session: SessionDep, page: Paging) -> Page[MyAccount]:
    """Accounts the caller owns or is a team member of (from the gateway's accounts projection)."""
    items, total = await access.list_book(
        session, platform, user_id=actor.principal.user_id, limit=page.limit, offset=page.offset
    )
    return Page[MyAccount](items=items, total=total, limit=page.limit, offset=page.offset)


# ---------------------------------------------------------------- users and API keys (admin)


@router.get("/users", summary="List users", tags=["identity"])
async def list_users(_: Actor, session: SessionDep, page: Paging) -> Page[UserRead]:
    """Every user (admin)."""
    rows, total = await users.list_users(session, limit=page.limit, offset=page.offset)
    return Page[UserRead](
        items=[UserRead.model_validate(u) for u in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("/users", summary="Create a user", status_code=201, response_model=UserRead, tags=["identity"])
async def create_user(
    body: UserCreate, actor: Actor, runtime: Runtime, session: SessionDep, publisher: PublisherDep
) -> User:
    """Create a user with roles and contact channels (admin); every service hears of them
    (``identity.user_registered``)."""
    return await users.create_user(
        session, body=body, passwords=runtime.passwords, publisher=publisher, actor_id=actor.principal.user_id
    )


@router.get("/users/{user_id}", summary="One user", response_model=UserRead, tags=["identity"])
async def get_user(_: Actor, user: UserById) -> User:
    """One user (admin)."""
    return user


@router.patch(
    "/users/{user_id}",
    summary="Change a user's name, roles, contact channels, password or active flag",
    response_model=UserRead,
    tags=["identity"],
)
async def update_user(
    actor: Actor, user: UserById, body: UserUpdate, runtime: Runtime, session: SessionDep, publisher: PublisherDep
) -> User:
    """Update a user (admin). Deactivating or a removed role holds from the user's next request; deactivating or
    resetting the password ends their sessions; a visible change is published to every service."""
    actor_id = actor.principal.user_id
    return await users.update_user(
        session, user=user, body=body, passwords=runtime.passwords, publisher=publisher, actor_id=actor_id
    )


@router.get("/api-keys", summary="List API keys", response_model=list[ApiKeyRead], tags=["identity"])
async def api_keys(_: Actor, session: SessionDep) -> list[ApiKey]:
    """Every API key without secrets (admin)."""
    return await identity.list_api_keys(session=session)


@router.post("/api-keys", summary="Create an API key", status_code=201, response_model=ApiKeyCreated, tags=["identity"])
async def create_api_key(
    body: ApiKeyCreate, actor: Actor, runtime: Runtime, session: SessionDep, clock: ClockDep
) -> ApiKeyCreated:
    """A key for an enterprise system, with roles, scopes and an expiry (admin); the secret is shown once."""
    key, secret = await identity.create_api_key(
        session=session, body=body, created_by=actor.principal.user_id, settings=runtime.settings, now=clock.now()
    )
    return ApiKeyCreated.model_validate({**ApiKeyRead.model_validate(key).model_dump(), "api_key": secret})


@router.post(
    "/api-keys/{key_id}/rotate", summary="Rotate an API key's secret", response_model=ApiKeyCreated, tags=["identity"]
)
async def rotate_api_key(
    key_id: ApiKeyId,
    actor: Actor,
    runtime: Runtime,
    session: SessionDep,
    clock: ClockDep,
    body: Annotated[ApiKeyRotate | None, Body()] = None,
) -> ApiKeyCreated:
    """A new secret, shown once; the old one keeps working for the grace period, then stops (admin)."""
    key, secret = await identity.rotate_api_key(
        session=session,
        key_id=key_id,
        body=body or ApiKeyRotate(),
        settings=runtime.settings,
        now=clock.now(),
        actor_id=actor.principal.user_id,
    )
    return ApiKeyCreated.model_validate({**ApiKeyRead.model_validate(key).model_dump(), "api_key": secret})


@router.delete("/api-keys/{key_id}", summary="Revoke an API key", response_model=ApiKeyRead, tags=["identity"])
async def revoke_api_key(key_id: ApiKeyId, actor: Actor, session: SessionDep, clock: ClockDep) -> ApiKey:
    """Revoke a key; it stops working on the next request."""
    return await identity.revoke_api_key(
        session=session, key_id=key_id, now=clock.now(), actor_id=actor.principal.user_id
    )


# ---------------------------------------------------------------- composed views
# The hot path (a cached overview costs ~330 µs of CPU): the runtime and request id are read from the request, not
# through two more dependencies (~10 µs each), and the documents come assembled from sections serialised when they
# were fetched (the declared response_model is their schema; nothing is validated or serialised again on a hit).
# The proxy below reads them the same way, as it has the request at hand anyway.


def _json(document: bytes) -> Response:
    return Response(document, media_type="application/json")


@router.get(
    "/accounts/{account_id}/overview",
    summary="Account 360: profile, score, complaints, credit and risk, targets — composed from every service",
    tags=["views"],
    response_model=AccountOverview,
)
async def account_overview(account_id: AccountId, actor: Actor, request: Request) -> Response:
    """Every service's section of one account; a section whose service is down is marked unavailable."""
    runtime, request_id = runtime_of(request), request_id_of(request)
    return _json(await composition.account_overview(runtime, actor, account_id, request_id))


@router.get(
    "/portfolio",
    summary="The supervisor's board (an account manager's own book) — composed from every service",
    tags=["views"],
    response_model=PortfolioBoard,
)
async def portfolio(actor: Actor, request: Request) -> Response:
    """Tier distribution, SLA state, top risks, attainment and overdue engagements as each service reports them."""
    return _json(await composition.portfolio(runtime_of(request), actor, request_id_of(request)))


# ---------------------------------------------------------------- the proxy to the services


@proxy_router.api_route(
    API_PREFIX + "/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def forward(
    path: str, request: Request, _: Annotated[None, Depends(proxy.refuse_undocumented_method)], actor: Actor
) -> Response:
    """Forward a public call to its service with the caller's token; writes invalidate the composed views."""
    return await proxy.forward(runtime_of(request), actor, request, path, request_id_of(request))
