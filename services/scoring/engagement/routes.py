"""HTTP routes of layered engagement: log and list engagements, cadence status, overdue accounts, the policy."""

from __future__ import annotations

from enum import Enum

from fastapi import APIRouter

from services.scoring.deps import AccountForRead, AccountForUpdate, Actor, At, Paging, Supervisor, UserFilter
from services.scoring.engagement import service
from services.scoring.engagement.schemas import CadencePolicy, EngagementCreate, EngagementRead, EngagementStatusRead
from services.scoring.models import platform
from shared.errors import PROBLEM_RESPONSES
from shared.service import PublisherDep, SessionDep
from shared.vocabulary import TierCode

router = APIRouter(responses=PROBLEM_RESPONSES)
ACCOUNTS: list[str | Enum] = ["accounts"]
SCORING: list[str | Enum] = ["scoring"]


@router.post(
    "/accounts/{account_id}/engagements",
    status_code=201,
    response_model=EngagementRead,
    tags=ACCOUNTS,
    summary="Log an engagement",
)
async def post_engagement(
    actor: Actor,
    account: AccountForUpdate,
    body: EngagementCreate,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
) -> EngagementRead:
    """Log a visit, executive meeting or business review with level, business date, participants and notes."""
    engagement = await service.log_engagement(
        session, platform, publisher=publisher, account=account, body=body, actor=actor, at=at
    )
    return EngagementRead.model_validate(engagement)


@router.get(
    "/accounts/{account_id}/engagements", response_model=list[EngagementRead], tags=ACCOUNTS, summary="Engagements"
)
async def get_engagements(account: AccountForRead, session: SessionDep, page: Paging) -> list[EngagementRead]:
    """The account's engagement log, latest first."""
    rows = await service.list_engagements(session, account_id=account.id, limit=page.limit, offset=page.offset)
    return [EngagementRead.model_validate(e) for e in rows]


@router.get(
    "/accounts/{account_id}/engagement-status",
    response_model=EngagementStatusRead,
    tags=ACCOUNTS,
    summary="Cadence status of an account",
)
async def get_engagement_status(account: AccountForRead, session: SessionDep, at: At) -> EngagementStatusRead:
    """Last contact per level, when the next is due and whether it is overdue (business dates, company zone)."""
    return await service.engagement_status(session, account=account, today=at.today)


@router.get(
    "/scoring/engagements/overdue",
    response_model=list[EngagementStatusRead],
    tags=SCORING,
    summary="Accounts overdue on their cadence",
)
async def get_overdue(
    session: SessionDep,
    at: At,
    actor: Actor,
    owner_id: UserFilter = None,
    tier: TierCode | None = None,
) -> list[EngagementStatusRead]:
    """Every visible account that missed its tier's cadence at some level, most overdue first."""
    return await service.overdue_accounts(session, platform, actor=actor, today=at.today, owner_id=owner_id, tier=tier)


@router.get("/scoring/cadence", response_model=CadencePolicy, tags=SCORING, summary="Cadence policy per tier")
async def get_cadence(session: SessionDep, actor: Actor) -> CadencePolicy:
    """Days between contacts per tier and level."""
    return await service.cadence_policy(session)


@router.put("/scoring/cadence", response_model=CadencePolicy, tags=SCORING, summary="Replace the cadence policy")
async def put_cadence(body: CadencePolicy, session: SessionDep, actor: Supervisor) -> CadencePolicy:
    """Replace the whole cadence policy (supervisor)."""
    await service.replace_cadence_rules(session, body=body)
    return body
