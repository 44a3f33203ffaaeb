"""The scoring sections of the views the gateway composes (account overview, portfolio board) and their routes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.deps import AccountForRead, Actor, At, Settings
from services.scoring.engagement.service import engagement_status, overdue_accounts
from services.scoring.features import AsOf
from services.scoring.models import platform
from services.scoring.playbook.service import account_strategy
from services.scoring.registry.models import Account
from services.scoring.registry.service import account_detail
from services.scoring.scores.schemas import OverrideRead
from services.scoring.scores.service import explain_score
from services.scoring.scores.tiers import active_override, tier_distribution, tier_label, tier_movers
from shared.auth import Principal
from shared.clock import business_date, start_of_business_day
from shared.errors import PROBLEM_RESPONSES, NotFound
from shared.service import SessionDep
from shared.views import scoring as section
from shared.views.scoring import ScoringAccountView, ScoringPortfolioView

router = APIRouter(responses=PROBLEM_RESPONSES)
SCORING: list[str | Enum] = ["scoring"]
OVERDUE_SHOWN = 20
MOVERS_SHOWN = 20
MOVERS_DAYS = 30


async def _tier(session: AsyncSession, account: Account, now: datetime, zone: ZoneInfo) -> section.AccountTier:
    override = await active_override(session, account_id=account.id, now=now)
    return section.AccountTier.model_validate(
        {
            **(tier_label(account.tier) or {"code": None}),
            "computed": account.computed_tier,
            "overridden": override is not None,
            "override": OverrideRead.of(override, zone).model_dump() if override else None,
        }
    )


async def _score(session: AsyncSession, account: Account, now: datetime) -> section.AccountScore | None:
    try:
        score = await explain_score(session, account=account, now=now)
    except NotFound:
        return None
    return section.AccountScore.model_validate(score.model_dump())


async def build_account_view(
    session: AsyncSession, *, account: Account, product_lines: Sequence[str], now: datetime, zone: ZoneInfo
) -> ScoringAccountView:
    """Profile, team, contacts, tier, explained score, strategy, white space and engagement of one account (business
    dates in the company's ``zone``)."""
    today = business_date(now, zone)
    detail = await account_detail(session, account=account, now=now)
    strategy = await account_strategy(session, account=account, fallback_lines=product_lines, at=AsOf(now, zone))
    engagement = await engagement_status(session, account=account, today=today)
    return ScoringAccountView(
        account_id=account.id,
        name=account.name,
        profile=section.AccountProfile.model_validate(detail.model_dump(exclude={"contacts"})),
        team=section.AccountTeam(owner_id=account.owner_id, team_member_ids=list(account.team_member_ids or [])),
        contacts=[section.Contact.model_validate(c.model_dump()) for c in detail.contacts],
        tier=await _tier(session, account, now, zone),
        score=await _score(session, account, now),
        strategy=section.AccountStrategy.model_validate(strategy.model_dump()),
        white_space=strategy.white_space,
        product_lines_bought=strategy.product_lines_bought,
        engagement=section.EngagementStatus.model_validate(engagement.model_dump()),
    )


async def build_portfolio_view(
    session: AsyncSession, *, actor: Principal, now: datetime, zone: ZoneInfo
) -> ScoringPortfolioView:
    """Tier distribution, overdue engagements and recent movers (since the start of the business day 30 days ago)
    of the actor's visible portfolio."""
    today = business_date(now, zone)
    overdue = await overdue_accounts(session, platform, actor=actor, today=today)
    since = start_of_business_day(today - timedelta(days=MOVERS_DAYS), zone)
    distribution = await tier_distribution(session, platform, actor=actor)
    movers = await tier_movers(session, platform, actor=actor, since=since, limit=MOVERS_SHOWN)
    return ScoringPortfolioView(
        distribution=section.TierDistribution.model_validate(distribution.model_dump()),
        overdue_engagements=section.OverdueEngagements(
            count=len(overdue),
            items=[section.EngagementStatus.model_validate(i.model_dump()) for i in overdue[:OVERDUE_SHOWN]],
        ),
        recent_movers=section.RecentMovers(
            since=since, items=[section.TierMover.model_validate(m.model_dump()) for m in movers]
        ),
    )


@router.get(
    "/scoring/views/accounts/{account_id}",
    response_model=ScoringAccountView,
    tags=SCORING,
    summary="This service's section of the account overview",
)
async def account_view(account: AccountForRead, session: SessionDep, at: At, settings: Settings) -> ScoringAccountView:
    """The scoring section of the account 360: profile, team, contacts, tier, score, strategy, engagement."""
    return await build_account_view(
        session, account=account, product_lines=settings.product_lines, now=at.now, zone=at.zone
    )


@router.get(
    "/scoring/views/portfolio",
    response_model=ScoringPortfolioView,
    tags=SCORING,
    summary="This service's section of the portfolio board",
)
async def portfolio_view(session: SessionDep, at: At, actor: Actor) -> ScoringPortfolioView:
    """Tier distribution, overdue engagements and recent movers (account managers: their own accounts)."""
    return await build_portfolio_view(session, actor=actor, now=at.now, zone=at.zone)
