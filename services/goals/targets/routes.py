"""HTTP routes of the targets sub-domain: targets, batches, approval, splits, roll-ups, team targets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.goals.deps import (
    Actor,
    PageDep,
    SettingsDep,
    TargetFiltersDep,
    TargetForRead,
    TargetForUpdate,
    TodayDep,
    UserIdQuery,
)
from services.goals.targets import service
from services.goals.targets.schemas import (
    RollupRead,
    SplitRequest,
    TargetBatch,
    TargetCancel,
    TargetCreate,
    TargetRead,
    TargetUpdate,
    TeamTargetRow,
    UnmatchedItems,
)
from services.goals.targets.split import remove_split as remove_target_split
from services.goals.targets.split import split_target as split_into_parts
from shared.api import Page, check_if_match, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)


@router.post(
    "/goals/targets",
    status_code=201,
    response_model=TargetRead,
    summary="Set a target (draft) for an account or a team",
)
async def create_target(
    body: TargetCreate,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    today: TodayDep,
    settings: SettingsDep,
) -> TargetRead:
    """Create a draft target; send ``Idempotency-Key`` to make retries safe."""
    target = await service.create_target(session, body=body, actor=actor, settings=settings, now=clock.now())
    read = await service.read_target(session, target, settings=settings, today=today)
    set_etag(response, target.version)
    return read


@router.post("/goals/targets/batch", status_code=201, summary="Set several targets at once (optionally approved)")
async def create_targets(
    body: TargetBatch,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    today: TodayDep,
    settings: SettingsDep,
    publisher: PublisherDep,
) -> list[TargetRead]:
    """All or nothing, in one transaction; ``approve=true`` (supervisor or admin) approves them too."""
    targets = await service.create_targets(
        session, body=body, actor=actor, settings=settings, publisher=publisher, now=clock.now()
    )
    return await service.read_targets(session, targets, settings=settings, today=today)


@router.get("/goals/targets", summary="List targets (filtered; account managers see their accounts only)")
async def list_targets(
    filters: TargetFiltersDep, session: SessionDep, actor: Actor, today: TodayDep, settings: SettingsDep, page: PageDep
) -> Page[TargetRead]:
    """Targets visible to the caller, newest period first."""
    targets, total = await service.list_targets(session, actor=actor, filters=filters, page=page)
    items = await service.read_targets(session, targets, settings=settings, today=today)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/goals/targets/{target_id}", summary="A target with attainment, forecast and gap")
async def get_target(
    target: TargetForRead, response: Response, session: SessionDep, today: TodayDep, settings: SettingsDep
) -> TargetRead:
    """One target; its ETag is its version."""
    set_etag(response, target.version)
    return await service.read_target(session, target, settings=settings, today=today)


@router.patch("/goals/targets/{target_id}", summary="Change a target (If-Match)")
async def update_target(
    target: TargetForUpdate,
    body: TargetUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    today: TodayDep,
    settings: SettingsDep,
    publisher: PublisherDep,
) -> TargetRead:
    """Change values; a part of a split must keep the parts adding up (422 naming the gap)."""
    check_if_match(request, target.version)
    target = await service.update_target(
        session, target=target, body=body, actor=actor, settings=settings, publisher=publisher, now=clock.now()
    )
    set_etag(response, target.version)
    return await service.read_target(session, target, settings=settings, today=today)


@router.post("/goals/targets/{target_id}/approve", summary="Approve a draft target and its parts")
async def approve_target(
    target: TargetForUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    today: TodayDep,
    settings: SettingsDep,
    publisher: PublisherDep,
) -> TargetRead:
    """draft → approved (supervisor or admin); publishes ``goals.target_set``."""
    check_if_match(request, target.version)
    target = await service.approve_target(
        session, target=target, actor=actor, settings=settings, publisher=publisher, now=clock.now()
    )
    set_etag(response, target.version)
    return await service.read_target(session, target, settings=settings, today=today)


@router.post(
    "/goals/targets/{target_id}/split", status_code=201, summary="Split a target over sub-periods or product lines"
)
async def split_target(
    target: TargetForUpdate,
    body: SplitRequest,
    request: Request,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    today: TodayDep,
    settings: SettingsDep,
    publisher: PublisherDep,
) -> list[TargetRead]:
    """Even, seasonal (weights or template) or manual; parts that do not add up get a 422 naming the gap.
    ``If-Match`` with the target's ETag (the split changes the target: a new version). A split again keeps the
    parts for the same period and product line and moves the action items of parts that go to the new part
    covering them (409 naming those no part covers, unless ``unmatched_items=parent``)."""
    check_if_match(request, target.version)
    children = await split_into_parts(
        session, target=target, body=body, actor=actor, settings=settings, now=clock.now(), publisher=publisher
    )
    return await service.read_targets(session, children, settings=settings, today=today)


@router.delete("/goals/targets/{target_id}/split", summary="Remove a target's split (If-Match)")
async def remove_split(
    target: TargetForUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    today: TodayDep,
    settings: SettingsDep,
    publisher: PublisherDep,
    unmatched_items: Annotated[UnmatchedItems, Query(description="parent: move the parts' action items here")] = (
        "refuse"
    ),
) -> TargetRead:
    """The parts go; their action items are refused (409 naming them) unless ``unmatched_items=parent``."""
    check_if_match(request, target.version)
    target = await remove_target_split(
        session,
        target=target,
        unmatched_items=unmatched_items,
        actor=actor,
        settings=settings,
        now=clock.now(),
        publisher=publisher,
    )
    set_etag(response, target.version)
    return await service.read_target(session, target, settings=settings, today=today)


@router.post("/goals/targets/{target_id}/cancel", summary="Cancel an approved target and its parts (If-Match)")
async def cancel_target(
    target: TargetForUpdate,
    body: TargetCancel,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    today: TodayDep,
    settings: SettingsDep,
    publisher: PublisherDep,
) -> TargetRead:
    """approved → cancelled (supervisor or admin, with a reason; audited); open action items are cancelled."""
    check_if_match(request, target.version)
    target = await service.cancel_target(
        session, target=target, reason=body.reason, actor=actor, settings=settings, publisher=publisher, now=clock.now()
    )
    set_etag(response, target.version)
    return await service.read_target(session, target, settings=settings, today=today)


@router.delete("/goals/targets/{target_id}", status_code=204, summary="Delete a draft target (If-Match)")
async def delete_target(target: TargetForUpdate, request: Request, session: SessionDep, actor: Actor) -> Response:
    """Only a draft (409 naming the status otherwise), with its parts and their action items."""
    check_if_match(request, target.version)
    await service.delete_draft(session, target=target, actor=actor)
    return Response(status_code=204)


@router.get("/goals/targets/{target_id}/rollup", summary="A target and the sum of its parts")
async def rollup(target: TargetForRead, session: SessionDep, today: TodayDep, settings: SettingsDep) -> RollupRead:
    """Whether the parts add up to the target."""
    return await service.rollup(session, target=target, settings=settings, today=today)


@router.get("/goals/team-targets", summary="Team targets per account manager: explicit or rolled up")
async def team_targets(
    session: SessionDep,
    actor: Actor,
    settings: SettingsDep,
    period: Annotated[str, Query(max_length=10, examples=["2026"])],
    owner_id: UserIdQuery = None,
) -> list[TeamTargetRow]:
    """An account manager's targets per metric (account managers: their own)."""
    rows = await service.team_targets_of_owners(
        session, actor=actor, period=period, owner_id=owner_id, settings=settings
    )
    return [TeamTargetRow.model_validate(r) for r in rows]
