"""HTTP routes of the analyses: a target's variance and the team scorecards."""

from __future__ import annotations

from fastapi import APIRouter

from services.goals.analysis import service
from services.goals.analysis.schemas import ScorecardRead, VarianceBaseline, VarianceRead
from services.goals.config import calendar_of
from services.goals.deps import Actor, PeriodQuery, SettingsDep, TargetForRead, TodayDep, UserIdQuery
from shared.errors import PROBLEM_RESPONSES
from shared.service import SessionDep

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)


@router.get("/goals/targets/{target_id}/variance", summary="Why the figure moved: by product line, month, region")
async def variance(
    target: TargetForRead,
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    compare: VarianceBaseline = "previous_year",
) -> VarianceRead:
    """Variance against the target, the previous period or the same period last year, with price/volume effect."""
    return await service.variance(session, target=target, compare_to=compare, settings=settings, today=today)


@router.get("/goals/scorecards", summary="Team scorecards (绩效考核) per account manager")
async def scorecards(
    session: SessionDep,
    actor: Actor,
    today: TodayDep,
    settings: SettingsDep,
    period: PeriodQuery = None,
    owner_id: UserIdQuery = None,
) -> list[ScorecardRead]:
    """KPI score with its breakdown (account managers: their own); by default this fiscal year (in the company's
    zone)."""
    text = period or calendar_of(settings).current(today, "year").text
    return await service.scorecards(session, period_text=text, actor=actor, settings=settings, owner_id=owner_id)
