"""Request dependencies of the goals service: settings, the acting user, today's business date, paging, and the
objects a route works on, loaded and access-checked once (a 404 happens here)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actions.models import ActionItem
from services.goals.actuals.importer import parse_column_mapping
from services.goals.actuals.models import ImportBatch
from services.goals.actuals.schemas import BATCH_ID_PATTERN, ImportEncoding, ImportOptions
from services.goals.config import GoalsSettings
from services.goals.models import platform
from services.goals.plans.models import AccountPlan
from services.goals.projects.models import CrossProject, ProjectPart
from services.goals.targets.models import Target
from services.goals.targets.schemas import Metric, TargetFilters, TargetScope, TargetStatus
from shared.api import PageParams, page_params
from shared.auth import CurrentPrincipal, Principal, can_access_account, ensure_account_access, require_writer
from shared.clock import business_date
from shared.db import Database
from shared.errors import Forbidden, NotFound
from shared.service import ClockDep, SessionDep

# Query and path strings are bounded like the columns they are compared with.
AccountId = Annotated[str, Path(min_length=1, max_length=36)]
AccountIdQuery = Annotated[str | None, Query(min_length=1, max_length=36)]
UserIdQuery = Annotated[str | None, Query(min_length=1, max_length=100)]
PeriodQuery = Annotated[str | None, Query(max_length=10, examples=["2026", "2026-Q1", "2026-03"])]


def get_settings(request: Request) -> GoalsSettings:
    """The app's goals settings."""
    settings: GoalsSettings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    """The app's database (for work that runs outside the request's transaction, e.g. an import)."""
    db: Database = request.app.state.db
    return db


def get_import_tasks(request: Request) -> set[asyncio.Task[Any]]:
    """The import jobs running in the background of this app (kept so they are not garbage-collected)."""
    tasks: set[asyncio.Task[Any]] = request.app.state.__dict__.setdefault("import_tasks", set())
    return tasks


SettingsDep = Annotated[GoalsSettings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
ImportTasksDep = Annotated[set[asyncio.Task[Any]], Depends(get_import_tasks)]
PageDep = Annotated[PageParams, Depends(page_params)]
Actor = CurrentPrincipal


def business_today(clock: ClockDep, settings: SettingsDep) -> date:
    """Today in the company's zone (``KAM_TIMEZONE``): the date periods, month ends and due dates count from."""
    return business_date(clock.now(), settings.zone)


TodayDep = Annotated[date, Depends(business_today)]


async def load_target(session: AsyncSession, *, target_id: str, actor: Principal, write: bool = False) -> Target:
    """A target the actor may see (404 otherwise); ``write=True`` also refuses read-only roles."""
    target = await session.get(Target, target_id)
    if target is None:
        raise NotFound(f"Target {target_id} not found")
    if target.account_id is not None:
        try:
            await ensure_account_access(session, platform, actor, target.account_id, write=write)
        except NotFound as exc:
            raise NotFound(f"Target {target_id} not found") from exc
    else:
        if not actor.sees_whole_portfolio and target.owner_id != actor.user_id:
            raise NotFound(f"Target {target_id} not found")
        if write:
            require_writer(actor)
    return target


async def _target_for_read(target_id: uuid.UUID, session: SessionDep, actor: Actor) -> Target:
    return await load_target(session, target_id=str(target_id), actor=actor)


async def _target_for_update(target_id: uuid.UUID, session: SessionDep, actor: Actor) -> Target:
    return await load_target(session, target_id=str(target_id), actor=actor, write=True)


async def _action_item_for_update(action_id: uuid.UUID, session: SessionDep, actor: Actor) -> ActionItem:
    item = await session.get(ActionItem, str(action_id))
    if item is None:
        raise NotFound(f"Action item {action_id} not found")
    try:
        await load_target(session, target_id=item.target_id, actor=actor, write=True)
    except NotFound as exc:  # the same answer as an unknown id: nothing about the target leaks
        raise NotFound(f"Action item {action_id} not found") from exc
    return item


async def _import_batch_for_read(
    batch_id: Annotated[str, Path(max_length=100, pattern=BATCH_ID_PATTERN)], session: SessionDep, actor: Actor
) -> ImportBatch:
    batch = await session.get(ImportBatch, batch_id)
    if batch is None or (not actor.sees_whole_portfolio and batch.created_by != actor.user_id):
        raise NotFound(f"Import {batch_id} not found")
    return batch


async def _account_for_read(account_id: AccountId, session: SessionDep, actor: Actor) -> dict[str, Any]:
    return await ensure_account_access(session, platform, actor, account_id)


async def _account_for_update(account_id: AccountId, session: SessionDep, actor: Actor) -> dict[str, Any]:
    return await ensure_account_access(session, platform, actor, account_id, write=True)


def target_filters(
    account_id: AccountIdQuery = None,
    owner_id: UserIdQuery = None,
    period: PeriodQuery = None,
    metric: Metric | None = None,
    status: TargetStatus | None = None,
    scope: TargetScope | None = None,
    at_risk: bool | None = None,
    top_level: bool = Query(default=False, description="only targets that are not parts of a split"),
) -> TargetFilters:
    """The filters of ``GET /goals/targets``."""
    return TargetFilters(
        account_id=account_id,
        owner_id=owner_id,
        period=period,
        metric=metric,
        status=status,
        scope=scope,
        at_risk=at_risk,
        top_level=top_level,
    )


def import_options(
    batch_id: Annotated[
        str, Query(max_length=100, description="idempotency: re-importing a completed batch adds nothing")
    ],
    filename: Annotated[str | None, Query(max_length=300)] = None,
    encoding: ImportEncoding = "auto",
    wait: bool = Query(default=False, description="answer when the import is done instead of at once"),
    restart: bool = Query(
        default=False, description="run a batch again that was interrupted (no progress for 2 minutes)"
    ),
    allow_duplicate: bool = Query(
        default=False, description="import a file already imported under another batch id (counted twice)"
    ),
    columns: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="your file's headers mapped to the columns, e.g. 客户编码:account_id,含税金额:revenue "
            "(columns: account_id, date, product_line, region, quantity, revenue, cost, currency)",
        ),
    ] = None,
) -> ImportOptions:
    """The query of ``POST /goals/imports``."""
    return ImportOptions(
        batch_id=batch_id,
        filename=filename,
        encoding=encoding,
        wait=wait,
        restart=restart,
        allow_duplicate=allow_duplicate,
        columns=parse_column_mapping(columns),
    )


TargetForRead = Annotated[Target, Depends(_target_for_read)]
TargetForUpdate = Annotated[Target, Depends(_target_for_update)]
ActionItemForUpdate = Annotated[ActionItem, Depends(_action_item_for_update)]
ImportBatchForRead = Annotated[ImportBatch, Depends(_import_batch_for_read)]
AccountForRead = Annotated[dict[str, Any], Depends(_account_for_read)]
AccountForUpdate = Annotated[dict[str, Any], Depends(_account_for_update)]
TargetFiltersDep = Annotated[TargetFilters, Depends(target_filters)]
ImportOptionsDep = Annotated[ImportOptions, Depends(import_options)]


# ---------------------------------------------------------------- account plans and cross-department projects


async def load_plan(session: AsyncSession, *, plan_id: str, actor: Principal, write: bool = False) -> AccountPlan:
    """A plan whose account the actor may see (404 otherwise); ``write=True`` also refuses read-only roles."""
    plan = await session.get(AccountPlan, plan_id)
    if plan is None:
        raise NotFound(f"Plan {plan_id} not found")
    try:
        await ensure_account_access(session, platform, actor, plan.account_id, write=write)
    except NotFound as exc:
        raise NotFound(f"Plan {plan_id} not found") from exc
    return plan


async def _plan_for_read(plan_id: uuid.UUID, session: SessionDep, actor: Actor) -> AccountPlan:
    return await load_plan(session, plan_id=str(plan_id), actor=actor)


async def _plan_for_update(plan_id: uuid.UUID, session: SessionDep, actor: Actor) -> AccountPlan:
    return await load_plan(session, plan_id=str(plan_id), actor=actor, write=True)


@dataclass(frozen=True)
class ProjectAccess:
    """A project as the actor may see it: the whole of it (they see the account) or only the parts they own."""

    project: CrossProject
    sees_account: bool
    account_side: bool  # may change it on the account's behalf (a writer who sees the account)
    viewer_id: str

    @property
    def only_owner(self) -> str | None:
        """None when every part is shown, else the owner whose parts alone are shown."""
        return None if self.sees_account else self.viewer_id


async def load_project(session: AsyncSession, *, project_id: str, actor: Principal) -> ProjectAccess:
    """A project whose account the actor sees, or of which they own a part (404 otherwise)."""
    project = await session.get(CrossProject, project_id)
    if project is None:
        raise NotFound(f"Project {project_id} not found")
    sees = await can_access_account(session, platform, actor, project.account_id)
    if not sees:
        owned = await session.scalar(
            select(ProjectPart.id)
            .where(ProjectPart.project_id == project.id, ProjectPart.owner_id == actor.user_id)
            .limit(1)
        )
        if owned is None:
            raise NotFound(f"Project {project_id} not found")
    return ProjectAccess(project, sees_account=sees, account_side=sees and actor.can_write, viewer_id=actor.user_id)


async def _project_for_read(project_id: uuid.UUID, session: SessionDep, actor: Actor) -> ProjectAccess:
    return await load_project(session, project_id=str(project_id), actor=actor)


async def _project_for_update(project_id: uuid.UUID, session: SessionDep, actor: Actor) -> ProjectAccess:
    access = await load_project(session, project_id=str(project_id), actor=actor)
    if not access.account_side:
        raise Forbidden("Only the account's side (its owner, team or a supervisor) changes the project")
    return access


@dataclass(frozen=True)
class PartAccess:
    """A part the actor may see, and whether they act for the account on it."""

    part: ProjectPart
    account_side: bool


async def _part_for_update(project_id: uuid.UUID, part_id: uuid.UUID, session: SessionDep, actor: Actor) -> PartAccess:
    access = await load_project(session, project_id=str(project_id), actor=actor)
    part = await session.get(ProjectPart, str(part_id))
    if (
        part is None
        or part.project_id != access.project.id
        or (not access.sees_account and part.owner_id != actor.user_id)
    ):
        raise NotFound(f"Part {part_id} not found")
    return PartAccess(part, account_side=access.account_side)


PlanForRead = Annotated[AccountPlan, Depends(_plan_for_read)]
PlanForUpdate = Annotated[AccountPlan, Depends(_plan_for_update)]
ProjectForRead = Annotated[ProjectAccess, Depends(_project_for_read)]
ProjectForUpdate = Annotated[ProjectAccess, Depends(_project_for_update)]
PartForUpdate = Annotated[PartAccess, Depends(_part_for_update)]
