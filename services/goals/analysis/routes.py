"""HTTP routes of the analyses: the variance of a target, of an account, a team or the portfolio, and the team
scorecards."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.goals.analysis import service
from services.goals.analysis.schemas import (
    ScopeVarianceRead,
    VarianceBaseline,
    VarianceMetric,
    VarianceRead,
    VarianceScope,
)
from services.goals.config import calendar_of
from services.goals.deps import (
    AccountIdQuery,
    Actor,
    PeriodQuery,
    SettingsDep,
    TargetForRead,
    TodayDep,
    UserIdQuery,
)
from services.goals.scorecards import service as scorecards_service
from services.goals.scorecards.schemas import ScorecardRead
from shared.errors import PROBLEM_RESPONSES
from shared.service import SessionDep

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)
CurrencyQuery = Annotated[str | None, Query(pattern=r"^[A-Z]{3}$", examples=["CNY"])]


@router.get("/goals/targets/{target_id}/variance", summary="Why the figure moved: by product line, month, region")
async def variance(
    target: TargetForRead,
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    compare: VarianceBaseline = "previous_year",
) -> VarianceRead:
    """Variance against the target, the previous period or the same period last year, with price, volume, mix
    (cost) and new / lost effects."""
    return await service.variance(session, target=target, compare_to=compare, settings=settings, today=today)


@router.get("/goals/variance", summary="Why an account's, a team's or the portfolio's figure moved")
async def scope_variance(
    session: SessionDep,
    actor: Actor,
    today: TodayDep,
    settings: SettingsDep,
    scope: VarianceScope = "portfolio",
    account_id: AccountIdQuery = None,
    owner_id: UserIdQuery = None,
    period: PeriodQuery = None,
    metric: VarianceMetric = "revenue",
    compare: Literal["previous_year", "previous_period"] = "previous_year",
    currency: CurrencyQuery = None,
) -> ScopeVarianceRead:
    """Price, volume, mix (cost) and new / lost effects by product line, month, region, account (ranked by their
    contribution to the delta) and account manager; by default this fiscal year against the last."""
    return await service.scope_variance(
        session,
        actor=actor,
        scope=scope,
        period_text=period or calendar_of(settings).current(today, "year").text,
        compare_to=compare,
        metric=metric,
        settings=settings,
        today=today,
        account_id=account_id,
        owner_id=owner_id,
        currency=currency,
    )


@router.get("/goals/scorecards", summary="Team scorecards (绩效考核) per account manager")
async def scorecards(
    session: SessionDep,
    actor: Actor,
    today: TodayDep,
    settings: SettingsDep,
    period: PeriodQuery = None,
    owner_id: UserIdQuery = None,
) -> list[ScorecardRead]:
    """KPI score with its breakdown (account managers: their own), as signed off when it is; by default this
    fiscal year (in the company's zone)."""
    text = period or calendar_of(settings).current(today, "year").text
    return await scorecards_service.scorecards(
        session, period_text=text, actor=actor, settings=settings, today=today, owner_id=owner_id
    )
