"""HTTP routes of the KA registry: register and import accounts, list them, profile, team, ratings, contacts."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from services.scoring.deps import (
    AccountForRead,
    AccountForUpdate,
    Actor,
    At,
    Paging,
    Registrar,
    Supervisor,
)
from services.scoring.models import platform
from services.scoring.registry import queries, service
from services.scoring.registry.change_requests import hold_self_reported, request_reads
from services.scoring.registry.review_routes import pending_response
from services.scoring.registry.schemas import (
    AccountBatch,
    AccountBatchRead,
    AccountCreate,
    AccountDetail,
    AccountRead,
    AccountUpdate,
    ChangeRequestRead,
    RatingsUpdate,
    TeamUpdate,
)
from shared.api import Page, check_if_match, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(responses=PROBLEM_RESPONSES)
ACCOUNTS: list[str | Enum] = ["accounts"]


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountDetail,
    tags=ACCOUNTS,
    summary="Register an account (KA registry)",
)
async def create_account(
    body: AccountCreate,
    response: Response,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
    actor: Registrar,
) -> Any:
    """Register a company with its team and contacts; publishes ``accounts.registered`` and scores it."""
    account = await service.register_account(session, platform, publisher=publisher, body=body, actor=actor, at=at)
    detail = await service.account_detail(session, account=account, now=at.now)
    set_etag(response, account.version)
    response.headers["Location"] = f"/accounts/{account.id}"
    return detail


@router.post(
    "/accounts/batch",
    status_code=201,
    response_model=AccountBatchRead,
    tags=ACCOUNTS,
    summary="Register many accounts at once (import)",
)
async def create_accounts(
    body: AccountBatch,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
    actor: Supervisor,
) -> Any:
    """Import up to 500 accounts (with contacts, ratings and engagement history) in one transaction."""
    accounts = await service.register_accounts(
        session, platform, publisher=publisher, bodies=body.accounts, actor=actor, at=at
    )
    result = AccountBatchRead(items=[await service.account_detail(session, account=a, now=at.now) for a in accounts])
    return result


@router.get("/accounts", response_model=Page[AccountRead], tags=ACCOUNTS, summary="List, filter and sort accounts")
async def list_accounts(
    session: SessionDep,
    clock: ClockDep,
    actor: Actor,
    page: Paging,
    query: queries.AccountListParams,
) -> Page[AccountRead]:
    """Accounts the caller may see (account managers: only their own book, as owner or team member); repeat a
    filter for any of its values (``tier=strategic&tier=key``); ``q`` searches names, credit and ERP codes."""
    accounts, total = await queries.list_accounts(session, platform, actor=actor, query=query, page=page)
    items = await service.account_reads(session, accounts=accounts, now=clock.now())
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/accounts/by-code/{code:path}", response_model=AccountDetail, tags=ACCOUNTS, summary="Account by ERP/credit code"
)
async def get_account_by_code(
    code: Annotated[str, Path(min_length=1, max_length=64)],
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    actor: Actor,
) -> AccountDetail:
    """The account holding an ERP customer code, or with that credit code (404 when unknown or not visible)."""
    account = await service.account_by_code(session, platform, actor=actor, code=code)
    set_etag(response, account.version)
    return await service.account_detail(session, account=account, now=clock.now())


@router.get("/accounts/{account_id}", response_model=AccountDetail, tags=ACCOUNTS, summary="One account with contacts")
async def get_account(
    account: AccountForRead, response: Response, session: SessionDep, clock: ClockDep
) -> AccountDetail:
    """Profile, team, contacts, tier and score of one account."""
    set_etag(response, account.version)
    return await service.account_detail(session, account=account, now=clock.now())


@router.patch(
    "/accounts/{account_id}",
    response_model=AccountDetail,
    responses={202: {"model": ChangeRequestRead, "description": "Score inputs wait for a supervisor's approval"}},
    tags=ACCOUNTS,
    summary="Update an account",
)
async def patch_account(
    account: AccountForUpdate,
    body: AccountUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
    actor: Actor,
) -> Any:
    """Change profile fields, status or the group (``If-Match`` with the ETag refuses stale writes); publishes
    ``updated``. An account manager's ``cooperation_since`` waits for a supervisor: 202 with the change request."""
    check_if_match(request, account.version)
    body, held = await hold_self_reported(session, publisher, account=account, body=body, actor=actor, now=at.now)
    await service.update_account(session, platform, publisher=publisher, account=account, body=body, at=at, actor=actor)
    if held is not None:
        return pending_response((await request_reads(session, requests=[held]))[0], account.version)
    set_etag(response, account.version)
    return await service.account_detail(session, account=account, now=at.now)


@router.put("/accounts/{account_id}/team", response_model=AccountDetail, tags=ACCOUNTS, summary="Set the account team")
async def put_team(
    actor: Supervisor,
    account: AccountForUpdate,
    body: TeamUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    publisher: PublisherDep,
) -> AccountDetail:
    """Owner account manager and members; publishes ``accounts.owner_changed``."""
    check_if_match(request, account.version)
    await service.set_team(
        session, platform, publisher=publisher, account=account, body=body, now=clock.now(), actor=actor
    )
    set_etag(response, account.version)
    return await service.account_detail(session, account=account, now=clock.now())


@router.put(
    "/accounts/{account_id}/ratings", response_model=AccountDetail, tags=ACCOUNTS, summary="Rate strategic significance"
)
async def put_ratings(
    actor: Supervisor,
    account: AccountForUpdate,
    body: RatingsUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
) -> AccountDetail:
    """The supervisor's ratings (industry leadership, reference and channel value, product fit, expected growth);
    ``If-Match`` with the account's ETag."""
    check_if_match(request, account.version)
    await service.set_ratings(session, platform, publisher=publisher, account=account, body=body, actor=actor, at=at)
    set_etag(response, account.version)
    return await service.account_detail(session, account=account, now=at.now)
