"""HTTP routes of the scorecards: role schemes (weights, caps, components), ratings, sign-off and history (the
scorecards of a period are listed by ``analysis/routes.py``: ``GET /goals/scorecards``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from services.goals.deps import Actor, PeriodQuery, SettingsDep, TodayDep
from services.goals.scorecards import service
from services.goals.scorecards.schemas import (
    ComponentKey,
    RatingIn,
    RatingRead,
    SchemeIn,
    SchemeRead,
    ScorecardRead,
    ScoredRole,
    SignOffIn,
)
from shared.auth import SUPERVISOR, Principal, require_roles
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)
Overseer = Annotated[Principal, Depends(require_roles(SUPERVISOR))]  # supervisors (and admins)
PersonId = Annotated[str, Path(min_length=1, max_length=100)]
PeriodPath = Annotated[str, Path(min_length=4, max_length=10, examples=["2026-Q4"])]


@router.get("/goals/scorecard-schemes", summary="The scorecard scheme of every role")
async def list_schemes(session: SessionDep, actor: Actor, settings: SettingsDep) -> list[SchemeRead]:
    """Components, weights (percent of 100) and caps per role; ``source: default`` when none is stored."""
    return await service.list_schemes(session, settings=settings)


@router.get("/goals/scorecard-schemes/{role}", summary="A role's scorecard scheme")
async def get_scheme(role: ScoredRole, session: SessionDep, actor: Actor, settings: SettingsDep) -> SchemeRead:
    """The stored scheme of the role, else the default from the settings."""
    return await service.get_scheme(session, role=role, settings=settings)


@router.put("/goals/scorecard-schemes/{role}", summary="Set a role's components, weights and caps (supervisor)")
async def put_scheme(
    role: ScoredRole, body: SchemeIn, response: Response, session: SessionDep, actor: Overseer, clock: ClockDep
) -> SchemeRead:
    """Weights ≥ 0 adding up to exactly 100, caps > 0, each component once (422 naming the field otherwise);
    201 when the role had no stored scheme."""
    scheme, created = await service.put_scheme(session, role=role, body=body, actor=actor, now=clock.now())
    response.status_code = 201 if created else 200
    return scheme


@router.delete("/goals/scorecard-schemes/{role}", status_code=204, summary="Back to the default scheme")
async def delete_scheme(role: ScoredRole, session: SessionDep, actor: Overseer) -> Response:
    """Drop the role's stored scheme (404 when none is stored)."""
    await service.delete_scheme(session, role=role)
    return Response(status_code=204)


@router.put(
    "/goals/scorecards/{person_id}/{period}/ratings/{component}",
    summary="Rate a qualitative KPI of a person's period (supervisor)",
)
async def rate(
    person_id: PersonId,
    period: PeriodPath,
    component: ComponentKey,
    body: RatingIn,
    session: SessionDep,
    actor: Overseer,
    settings: SettingsDep,
    clock: ClockDep,
) -> RatingRead:
    """0–100 with a comment, for a qualitative component of the person's role scheme (422 otherwise)."""
    return await service.rate(
        session,
        person_id=person_id,
        period_text=period,
        component=component,
        body=body,
        actor=actor,
        settings=settings,
        now=clock.now(),
    )


@router.post(
    "/goals/scorecards/{person_id}/{period}/sign-off",
    status_code=201,
    summary="Sign a person's scorecard of a period off (supervisor): frozen as the next version",
)
async def sign_off(
    person_id: PersonId,
    period: PeriodPath,
    body: SignOffIn,
    session: SessionDep,
    actor: Overseer,
    settings: SettingsDep,
    clock: ClockDep,
    today: TodayDep,
) -> ScorecardRead:
    """The scorecard computed now, frozen: later data does not change it; signing off again makes a new version."""
    return await service.sign_off(
        session,
        person_id=person_id,
        period_text=period,
        body=body,
        actor=actor,
        settings=settings,
        now=clock.now(),
        today=today,
    )


@router.get("/goals/scorecards/{person_id}/history", summary="A person's signed-off scorecards")
async def history(
    person_id: PersonId, session: SessionDep, actor: Actor, settings: SettingsDep, period: PeriodQuery = None
) -> list[ScorecardRead]:
    """Every signed-off version, per period (account managers: their own)."""
    return await service.history(session, person_id=person_id, actor=actor, period_text=period, settings=settings)
