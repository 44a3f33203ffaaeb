"""HTTP routes of cross-department projects: create, list, read, add a part, move a part, the owner's queue."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.goals.deps import (
    AccountIdQuery,
    Actor,
    PageDep,
    PartForUpdate,
    ProjectForRead,
    ProjectForUpdate,
    SettingsDep,
    TodayDep,
)
from services.goals.projects import service
from services.goals.projects.schemas import MyPart, PartCreate, PartRead, PartUpdate, ProjectCreate, ProjectRead
from shared.api import Page, check_if_match, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)


@router.post("/goals/projects", status_code=201, response_model=ProjectRead, summary="Ask departments for a project")
async def create_project(
    body: ProjectCreate,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    today: TodayDep,
    settings: SettingsDep,
) -> ProjectRead:
    """A customer's new project with a part per department (owner, due date); accepts an ``Idempotency-Key``."""
    project = await service.create_project(session, body=body, actor=actor, settings=settings, now=clock.now())
    parts = await service.project_parts(session, [project.id])
    read = service.read_project(project, parts[project.id], today=today)
    return read


@router.get("/goals/projects", summary="Cross-department projects (filter account)")
async def list_projects(
    session: SessionDep, actor: Actor, today: TodayDep, page: PageDep, account_id: AccountIdQuery = None
) -> Page[ProjectRead]:
    """Projects of the accounts the caller sees, and those they own a part of (then only their parts)."""
    projects, total = await service.list_projects(session, actor=actor, page=page, account_id=account_id)
    parts = await service.project_parts(session, [p.id for p in projects])
    visible = await service.seen_accounts(session, actor=actor, account_ids={p.account_id for p in projects})
    items = [
        service.read_project(p, parts[p.id], today=today, only_owner=None if p.account_id in visible else actor.user_id)
        for p in projects
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/goals/projects/parts/mine", summary="My parts of cross-department projects (my queue)")
async def my_parts(
    session: SessionDep, actor: Actor, today: TodayDep, page: PageDep, overdue: bool | None = None
) -> Page[MyPart]:
    """The caller's parts by due date, each flagged ``overdue`` (``overdue=true``: only those)."""
    items, total = await service.my_parts(session, actor=actor, today=today, page=page, overdue=overdue)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/goals/projects/{project_id}", summary="A cross-department project")
async def get_project(access: ProjectForRead, session: SessionDep, today: TodayDep) -> ProjectRead:
    """The project, its progress (from every part) and the parts the caller may see."""
    parts = await service.project_parts(session, [access.project.id])
    return service.read_project(access.project, parts[access.project.id], today=today, only_owner=access.only_owner)


@router.post("/goals/projects/{project_id}/parts", status_code=201, summary="Ask one more department for a part")
async def add_part(
    access: ProjectForUpdate,
    body: PartCreate,
    session: SessionDep,
    clock: ClockDep,
    today: TodayDep,
    settings: SettingsDep,
) -> PartRead:
    """A new part (its owner a real, active user; the department one of the configured ones)."""
    part = await service.add_part(session, project=access.project, body=body, settings=settings, now=clock.now())
    return service.read_part(part, today)


@router.patch("/goals/projects/{project_id}/parts/{part_id}", summary="Move or change a part")
async def update_part(
    access: PartForUpdate,
    body: PartUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    today: TodayDep,
) -> PartRead:
    """The owner works on it (in_progress, delivered); the account side accepts, rejects or cancels it."""
    check_if_match(request, access.part.version)
    part = await service.update_part(
        session, part=access.part, body=body, actor=actor, account_side=access.account_side, now=clock.now()
    )
    set_etag(response, part.version)
    return service.read_part(part, today)
