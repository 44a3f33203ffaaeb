"""HTTP routes of the action plans: items under a target, the overdue list, status changes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.goals.actions import service
from services.goals.actions.schemas import ActionItemCreate, ActionItemRead, ActionItemUpdate, ActionStatus
from services.goals.deps import (
    AccountIdQuery,
    ActionItemForUpdate,
    Actor,
    PageDep,
    TargetForRead,
    TargetForUpdate,
    TodayDep,
    UserIdQuery,
)
from shared.api import Page, check_if_match, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)


@router.post("/goals/targets/{target_id}/actions", status_code=201, summary="Add an action item to a target")
async def create_action_item(
    target: TargetForUpdate, body: ActionItemCreate, session: SessionDep, clock: ClockDep, today: TodayDep
) -> ActionItemRead:
    """A step with owner, due date, expected impact and linked metric."""
    item = await service.create_action_item(session, target=target, body=body, now=clock.now())
    return service.read_action_item(item, today)


@router.get("/goals/targets/{target_id}/actions", summary="A target's action plan")
async def list_target_actions(target: TargetForRead, session: SessionDep, today: TodayDep) -> list[ActionItemRead]:
    """The action items under a target, by due date."""
    items = await service.target_action_items(session, target=target)
    return [service.read_action_item(i, today) for i in items]


@router.get("/goals/actions", summary="Action items (filter overdue, status, owner, account)")
async def list_actions(
    session: SessionDep,
    actor: Actor,
    today: TodayDep,
    page: PageDep,
    overdue: bool | None = None,
    status: ActionStatus | None = None,
    owner_id: UserIdQuery = None,
    account_id: AccountIdQuery = None,
) -> Page[ActionItemRead]:
    """Action items visible to the caller; ``overdue=true`` lists open items past their due date (today in the
    company's zone)."""
    items, total = await service.list_action_items(
        session,
        actor=actor,
        today=today,
        page=page,
        overdue=overdue,
        status=status,
        owner_id=owner_id,
        account_id=account_id,
    )
    read = [service.read_action_item(i, today) for i in items]
    return Page(items=read, total=total, limit=page.limit, offset=page.offset)


@router.patch("/goals/actions/{action_id}", summary="Change an action item (status, owner, due date)")
async def update_action_item(
    item: ActionItemForUpdate,
    body: ActionItemUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    today: TodayDep,
) -> ActionItemRead:
    """Update an action item; status changes follow open → in_progress → done (or cancelled)."""
    check_if_match(request, item.version)
    item = await service.update_action_item(session, item=item, body=body, now=clock.now())
    set_etag(response, item.version)
    return service.read_action_item(item, today)
