"""HTTP routes of the forecasts: the forecasts in force (filtered, paged), a team's roll-up, a person's history,
one submission, submitting and a supervisor's adjustment."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from services.goals.deps import Actor, PageDep, PeriodQuery, SettingsDep, TodayDep, UserIdQuery
from services.goals.forecasts import queries, service
from services.goals.forecasts.models import ForecastSubmission
from services.goals.forecasts.schemas import AdjustmentIn, ForecastIn, ForecastRead, HistoryEntry, TeamForecastRead
from shared.api import Page, check_if_match, set_etag
from shared.auth import ACCOUNT_MANAGER, SUPERVISOR, Principal, require_roles
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)
Forecaster = Annotated[Principal, Depends(require_roles(ACCOUNT_MANAGER, SUPERVISOR))]  # and admins
Overseer = Annotated[Principal, Depends(require_roles(SUPERVISOR))]  # supervisors (and admins)
MonthQuery = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", examples=["2026-07"])]
RequiredPeriod = Annotated[str, Query(min_length=4, max_length=10, examples=["2026-Q3", "2026"])]


async def _forecast_for_read(forecast_id: uuid.UUID, session: SessionDep, actor: Actor) -> ForecastSubmission:
    return await service.load_submission(session, forecast_id=str(forecast_id), actor=actor)


ForecastForRead = Annotated[ForecastSubmission, Depends(_forecast_for_read)]


@router.get("/goals/forecasts", summary="The forecasts in force (commit / best case / pipeline) per person and period")
async def list_forecasts(
    session: SessionDep,
    actor: Actor,
    settings: SettingsDep,
    today: TodayDep,
    page: PageDep,
    period: PeriodQuery = None,
    owner_id: UserIdQuery = None,
    month: MonthQuery = None,
) -> Page[ForecastRead]:
    """Per person and period the newest submission (``month``: the newest up to the end of that month), with the
    supervisor's adjustment, quota and the system's forecasts; account managers see their own."""
    return await queries.list_forecasts(
        session, actor=actor, settings=settings, today=today, page=page, period=period, owner_id=owner_id, month=month
    )


@router.get("/goals/forecasts/team", summary="A period's roll-up: the members' forecasts summed per currency")
async def team_forecast(
    period: RequiredPeriod,
    session: SessionDep,
    actor: Actor,
    settings: SettingsDep,
    today: TodayDep,
    month: MonthQuery = None,
) -> TeamForecastRead:
    """Submitted and adjusted commit / best case / pipeline and quotas, summed per currency (never across)."""
    return await queries.team_forecast(session, actor=actor, settings=settings, today=today, period=period, month=month)


@router.get("/goals/forecasts/history", summary="Every submission and adjustment of a person's period")
async def forecast_history(
    period: RequiredPeriod, session: SessionDep, actor: Actor, settings: SettingsDep, owner_id: UserIdQuery = None
) -> list[HistoryEntry]:
    """Oldest first: who, when, the figures (default the caller's own; account managers only their own)."""
    return await queries.forecast_history(session, actor=actor, settings=settings, owner_id=owner_id, period=period)


@router.get("/goals/forecasts/{forecast_id}", summary="One submission")
async def get_forecast(
    submission: ForecastForRead, response: Response, session: SessionDep, settings: SettingsDep, today: TodayDep
) -> ForecastRead:
    """A submission (in force or superseded) beside quota and the system's forecasts; its ETag is its version."""
    set_etag(response, submission.version)
    return (await queries.read_forecasts(session, [submission], settings=settings, today=today))[0]


@router.post("/goals/forecasts", status_code=201, summary="Submit a forecast (the person, or a supervisor for them)")
async def submit_forecast(
    body: ForecastIn,
    response: Response,
    session: SessionDep,
    actor: Forecaster,
    settings: SettingsDep,
    clock: ClockDep,
    today: TodayDep,
) -> ForecastRead:
    """Supersedes the person's forecast in force for the period (kept in the history); commit ≤ best case ≤
    pipeline is warned about, not refused."""
    row = await service.submit_forecast(
        session, body=body, actor=actor, settings=settings, now=clock.now(), today=today
    )
    set_etag(response, row.version)
    return (await queries.read_forecasts(session, [row], settings=settings, today=today))[0]


@router.post("/goals/forecasts/{forecast_id}/adjust", summary="Adjust a forecast (supervisor), with a reason")
async def adjust_forecast(
    submission: ForecastForRead,
    body: AdjustmentIn,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Overseer,
    settings: SettingsDep,
    clock: ClockDep,
    today: TodayDep,
) -> ForecastRead:
    """The supervisor's figures beside the manager's (``If-Match``); audited as ``forecast.adjusted``."""
    check_if_match(request, submission.version)
    row = await service.adjust_forecast(session, submission=submission, body=body, actor=actor, now=clock.now())
    set_etag(response, row.version)
    return (await queries.read_forecasts(session, [row], settings=settings, today=today))[0]
