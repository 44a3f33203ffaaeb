"""HTTP routes of one account's score and tier: explained score, re-score, tier history, overrides, strategy."""

from __future__ import annotations

from enum import Enum

from fastapi import APIRouter, Response

from services.scoring.deps import AccountForRead, AccountForUpdate, Actor, At, Settings, Supervisor
from services.scoring.models import platform
from services.scoring.playbook.schemas import AccountStrategyRead
from services.scoring.playbook.service import account_strategy
from services.scoring.scores import service, tiers
from services.scoring.scores.consistency import rescore_account
from services.scoring.scores.schemas import OverrideCreate, OverrideRead, ScoreRead, TierChangeRead
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(responses=PROBLEM_RESPONSES)
ACCOUNTS: list[str | Enum] = ["accounts"]


@router.get("/accounts/{account_id}/score", response_model=ScoreRead, tags=ACCOUNTS, summary="Explained score")
async def get_score(account: AccountForRead, session: SessionDep, clock: ClockDep) -> ScoreRead:
    """Total, each dimension, each indicator's raw, normalised and weighted value, and why this tier."""
    return await service.explain_score(session, account=account, now=clock.now())


@router.post("/accounts/{account_id}/rescore", response_model=ScoreRead, tags=ACCOUNTS, summary="Re-score one account")
async def post_rescore_account(
    actor: Actor, account: AccountForUpdate, session: SessionDep, at: At, publisher: PublisherDep
) -> ScoreRead:
    """Score the account now with the published model."""
    await rescore_account(
        session,
        platform,
        publisher=publisher,
        account_id=account.id,
        at=at,
        reason="manual re-score",
        actor_id=actor.user_id,
    )
    return await service.explain_score(session, account=account, now=at.now)


@router.get(
    "/accounts/{account_id}/tier-history", response_model=list[TierChangeRead], tags=ACCOUNTS, summary="Tier history"
)
async def get_tier_history(account: AccountForRead, session: SessionDep) -> list[TierChangeRead]:
    """Every tier change with its reason, newest first."""
    return [TierChangeRead.model_validate(c) for c in await tiers.tier_history(session, account_id=account.id)]


@router.get(
    "/accounts/{account_id}/tier-overrides", response_model=list[OverrideRead], tags=ACCOUNTS, summary="Override audit"
)
async def get_overrides(account: AccountForRead, session: SessionDep, settings: Settings) -> list[OverrideRead]:
    """Every manual tier decision of the account (active, expired, revoked, replaced)."""
    return [OverrideRead.of(o, settings.zone) for o in await tiers.list_overrides(session, account_id=account.id)]


@router.post(
    "/accounts/{account_id}/tier-override",
    status_code=201,
    response_model=OverrideRead,
    tags=ACCOUNTS,
    summary="Override the tier (supervisor)",
)
async def post_override(
    actor: Supervisor,
    account: AccountForUpdate,
    body: OverrideCreate,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
) -> OverrideRead:
    """Set the tier by hand with a reason and optional expiry (an instant, or the last business day in force); the
    caller is the approver (an active supervisor)."""
    override = await tiers.set_override(
        session, platform, publisher=publisher, account=account, body=body, actor=actor, at=at
    )
    return OverrideRead.of(override, at.zone)


@router.delete(
    "/accounts/{account_id}/tier-override", status_code=204, tags=ACCOUNTS, summary="Revoke the tier override"
)
async def delete_override(
    actor: Supervisor, account: AccountForUpdate, session: SessionDep, clock: ClockDep, publisher: PublisherDep
) -> Response:
    """End the active override; the computed tier applies again."""
    await tiers.revoke_override(session, platform, publisher=publisher, account=account, actor=actor, now=clock.now())
    return Response(status_code=204)


@router.get("/accounts/{account_id}/strategy", tags=ACCOUNTS, summary="Strategy, quadrant and white space")
async def get_strategy(account: AccountForRead, session: SessionDep, at: At, settings: Settings) -> AccountStrategyRead:
    """The strategy of the first rule (``/scoring/strategy/rules``) that applies to the account's status, tier,
    value × potential quadrant (with its inputs) and signals; white space against the product catalogue."""
    return await account_strategy(session, account=account, fallback_lines=settings.product_lines, at=at)
