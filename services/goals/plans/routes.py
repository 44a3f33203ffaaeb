"""HTTP routes of account plans: create, read, list, change a draft, move, approve, history, due reviews, export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.goals.deps import (
    AccountIdQuery,
    Actor,
    PageDep,
    PlanForRead,
    PlanForUpdate,
    SettingsDep,
    TodayDep,
)
from services.goals.plans import queries, service
from services.goals.plans.export import XLSX_MEDIA_TYPE, content_disposition, plan_workbook
from services.goals.plans.schemas import (
    PlanCreate,
    PlanListItem,
    PlanRead,
    PlanStatus,
    PlanTransition,
    PlanUpdate,
    PlanVersionRead,
    ReviewDue,
)
from shared.api import Page, check_if_match, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)
YearQuery = Annotated[int | None, Query(ge=2000, le=2100)]


@router.post("/goals/plans", status_code=201, response_model=PlanRead, summary="Start an account's plan for a year")
async def create_plan(
    body: PlanCreate,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    today: TodayDep,
    settings: SettingsDep,
) -> PlanRead:
    """A draft plan (one per account and year: 409 for a second); accepts an ``Idempotency-Key``."""
    plan = await service.create_plan(session, body=body, actor=actor, settings=settings, now=clock.now())
    read = await queries.read_plan(session, plan, settings=settings, today=today)
    set_etag(response, plan.version)
    return read


@router.get("/goals/plans", summary="Account plans (filter account, year, status)")
async def list_plans(
    session: SessionDep,
    actor: Actor,
    page: PageDep,
    account_id: AccountIdQuery = None,
    year: YearQuery = None,
    status: PlanStatus | None = None,
) -> Page[PlanListItem]:
    """Plans of the accounts the caller sees, newest year first."""
    items, total = await queries.list_plans(
        session, actor=actor, page=page, account_id=account_id, year=year, status=status
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/goals/plans/reviews/due", summary="Plan reviews falling due")
async def due_reviews(
    session: SessionDep,
    actor: Actor,
    today: TodayDep,
    page: PageDep,
    within_days: Annotated[int, Query(ge=0, le=366)] = 14,
) -> Page[ReviewDue]:
    """Review dates of plans (not archived) from today to ``within_days`` days later (business dates)."""
    items, total = await queries.due_reviews(session, actor=actor, today=today, within_days=within_days, page=page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/goals/plans/{plan_id}", summary="An account plan")
async def get_plan(
    plan: PlanForRead, response: Response, session: SessionDep, today: TodayDep, settings: SettingsDep
) -> PlanRead:
    """The working version with product-mix sales, promotions' measured uplift, relationship map and projects."""
    set_etag(response, plan.version)
    return await queries.read_plan(session, plan, settings=settings, today=today)


@router.patch("/goals/plans/{plan_id}", summary="Change a draft plan")
async def update_plan(
    plan: PlanForUpdate,
    body: PlanUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    today: TodayDep,
    settings: SettingsDep,
) -> PlanRead:
    """Replace the given sections of a draft (send ``If-Match``); anything but a draft is a 409."""
    check_if_match(request, plan.version)
    plan = await service.update_plan(session, plan=plan, body=body, settings=settings, now=clock.now())
    set_etag(response, plan.version)
    return await queries.read_plan(session, plan, settings=settings, today=today)


@router.post("/goals/plans/{plan_id}/transitions", summary="Submit, return, revise or archive a plan")
async def transition_plan(
    plan: PlanForUpdate,
    body: PlanTransition,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    today: TodayDep,
    settings: SettingsDep,
) -> PlanRead:
    """Move the plan (``revise`` starts a new draft version of an approved plan; the approved one is kept);
    ``If-Match`` with the plan's ETag."""
    check_if_match(request, plan.version)
    plan = await service.transition_plan(session, plan=plan, body=body, actor=actor, now=clock.now())
    set_etag(response, plan.version)
    return await queries.read_plan(session, plan, settings=settings, today=today)


@router.post("/goals/plans/{plan_id}/approve", summary="Approve a submitted plan (KA supervisor)")
async def approve_plan(
    plan: PlanForUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    today: TodayDep,
    settings: SettingsDep,
) -> PlanRead:
    """A supervisor approves the submitted version (403 for any other role; ``If-Match`` with the plan's ETag)."""
    check_if_match(request, plan.version)
    plan = await service.approve_plan(session, plan=plan, actor=actor, now=clock.now())
    set_etag(response, plan.version)
    return await queries.read_plan(session, plan, settings=settings, today=today)


@router.get("/goals/plans/{plan_id}/versions", summary="A plan's version history")
async def plan_versions(plan: PlanForRead, session: SessionDep) -> list[PlanVersionRead]:
    """Every approved version as approved, and the working version."""
    return await queries.plan_versions(session, plan=plan)


@router.get(
    "/goals/plans/{plan_id}/export.xlsx",
    summary="The plan as an XLSX workbook",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "the workbook"}},
)
async def export_plan(plan: PlanForRead, session: SessionDep, today: TodayDep, settings: SettingsDep) -> Response:
    """A workbook of every section (Chinese intact), to hand out."""
    read = await queries.read_plan(session, plan, settings=settings, today=today)
    headers = {"Content-Disposition": content_disposition(read)}
    return Response(content=plan_workbook(read), media_type=XLSX_MEDIA_TYPE, headers=headers)
