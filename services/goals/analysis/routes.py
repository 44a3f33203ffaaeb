"""HTTP routes of the analyses: a target's variance and the team scorecards."""

from __future__ import annotations

from fastapi import APIRouter

from services.goals.analysis import service
from services.goals.analysis.schemas import ScorecardRead, VarianceBaseline, VarianceRead
from services.goals.config import calendar_of
from services.goals.deps import Actor, SettingsDep, TargetForRead
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)


@router.get("/goals/targets/{target_id}/variance", summary="Why the figure moved: by product line, month, region")
async def variance(
    target: TargetForRead,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    compare: VarianceBaseline = "previous_year",
) -> VarianceRead:
    """Variance against the target, the previous period or the same period last year, with price/volume effect."""
    return await service.variance(
        session, target=target, compare_to=compare, settings=settings, today=clock.now().date()
    )


@router.get("/goals/scorecards", summary="Team scorecards (绩效考核) per account manager")
async def scorecards(
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    settings: SettingsDep,
    period: str | None = None,
    owner_id: str | None = None,
) -> list[ScorecardRead]:
    """KPI score with its breakdown (account managers: their own)."""
    text = period or calendar_of(settings).current(clock.now().date(), "year").text
    return await service.scorecards(session, period_text=text, actor=actor, settings=settings, owner_id=owner_id)
