"""Cross-department projects: a project and its departments' parts, the parts' state machine and who may move
them, progress, the owner's queue, and the once-per-part overdue notice (flush only)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.config import GoalsSettings
from services.goals.models import platform
from services.goals.projects.models import CrossProject, ProjectPart
from services.goals.projects.progress import WORKING_STATUSES, Progress, is_overdue, progress_of
from services.goals.projects.schemas import MyPart, PartCreate, PartRead, PartUpdate, ProjectCreate, ProjectRead
from shared.api import PageParams
from shared.auth import ADMIN, DEPARTMENT_OWNER, Principal, ensure_account_access, visible_accounts_clause
from shared.bus import Publisher
from shared.errors import Forbidden, InvalidTransition, Unprocessable
from shared.events import GoalsProjectPartData, GoalsProjectPartOverdue
from shared.people import WORKER_ROLES, require_assignable

# The part's state machine: from each status, the statuses it may move to.
PART_TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "cancelled"}),
    "in_progress": frozenset({"delivered", "cancelled"}),
    "delivered": frozenset({"accepted", "rejected"}),
    "rejected": frozenset({"in_progress", "cancelled"}),
    "accepted": frozenset(),
    "cancelled": frozenset(),
}
# Who makes which move: the part's owner works on it; the account side (a writer who sees the account) accepts,
# rejects or cancels it. An admin may make every move.
OWNER_MOVES: frozenset[str] = frozenset({"in_progress", "delivered"})
ACCOUNT_SIDE_MOVES: frozenset[str] = frozenset({"accepted", "rejected", "cancelled"})
PART_OWNER_ROLES: frozenset[str] = WORKER_ROLES | {DEPARTMENT_OWNER}


async def require_part_owner(session: AsyncSession, *, user_id: str, field: str, account_id: str) -> None:
    """A real, active user fit to own a part: a department owner (the part itself lets them see it), or anyone
    else who works on accounts and can see this one (else 422 naming ``field``)."""
    user = await require_assignable(session, platform, user_id=user_id, field=field, roles=PART_OWNER_ROLES)
    assert user is not None
    if DEPARTMENT_OWNER not in (user["roles"] or ()):
        await require_assignable(session, platform, user_id=user_id, field=field, account_id=account_id)


def _check_department(department: str, settings: GoalsSettings, field: str) -> None:
    if department not in settings.project_departments:
        known = ", ".join(settings.project_departments)
        raise Unprocessable(f"{field}: unknown department {department!r}; one of {known}", field=field)


async def _new_part(
    session: AsyncSession,
    *,
    project: CrossProject,
    body: PartCreate,
    settings: GoalsSettings,
    field: str,
    now: datetime,
) -> ProjectPart:
    _check_department(body.department, settings, f"{field}.department")
    await require_part_owner(session, user_id=body.owner_id, field=f"{field}.owner_id", account_id=project.account_id)
    part = ProjectPart(
        id=str(uuid.uuid4()),
        project_id=project.id,
        account_id=project.account_id,
        department=body.department,
        title=body.title,
        owner_id=body.owner_id,
        due_on=body.due_on,
        status="open",
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(part)
    return part


async def create_project(
    session: AsyncSession, *, body: ProjectCreate, actor: Principal, settings: GoalsSettings, now: datetime
) -> CrossProject:
    """A new project of an account with its departments' parts (each owner checked)."""
    await ensure_account_access(session, platform, actor, body.account_id, write=True)
    project = CrossProject(
        id=str(uuid.uuid4()),
        account_id=body.account_id,
        title=body.title,
        description=body.description,
        customer_project=body.customer_project,
        requested_by=actor.user_id,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(project)
    await session.flush()
    for i, part in enumerate(body.parts):
        await _new_part(session, project=project, body=part, settings=settings, field=f"parts.{i}", now=now)
    await session.flush()
    return project


async def add_part(
    session: AsyncSession, *, project: CrossProject, body: PartCreate, settings: GoalsSettings, now: datetime
) -> ProjectPart:
    """Ask one more department for a part of the project."""
    part = await _new_part(session, project=project, body=body, settings=settings, field="body", now=now)
    project.updated_at, project.version = now, project.version + 1
    await session.flush()
    return part


def _check_move(part: ProjectPart, status: str, *, actor: Principal, account_side: bool) -> None:
    if status not in PART_TRANSITIONS[part.status]:
        allowed = sorted(PART_TRANSITIONS[part.status])
        raise InvalidTransition(
            f"a part cannot go from {part.status} to {status}", current=part.status, allowed=allowed
        )
    if ADMIN in actor.roles:
        return
    if status in OWNER_MOVES and part.owner_id != actor.user_id:
        raise Forbidden(f"only the part's owner ({part.owner_id}) moves it to {status}")
    if status in ACCOUNT_SIDE_MOVES and not account_side:
        raise Forbidden(f"only the account's side (owner, team, supervisor) moves a part to {status}")


async def update_part(
    session: AsyncSession, *, part: ProjectPart, body: PartUpdate, actor: Principal, account_side: bool, now: datetime
) -> ProjectPart:
    """Move or change a part: moves follow ``PART_TRANSITIONS`` and ``OWNER_MOVES`` / ``ACCOUNT_SIDE_MOVES``;
    owner, due date and title are the account side's to change; a rejection needs a note."""
    changes = body.model_dump(exclude_unset=True)
    for key in ("title", "owner_id", "due_on", "status"):
        if key in changes and changes[key] is None:
            raise Unprocessable(f"{key} cannot be null", field=key)
    edits = {k: v for k, v in changes.items() if k in ("title", "owner_id", "due_on") and v != getattr(part, k)}
    if edits and not account_side:
        raise Forbidden("only the account's side changes a part's title, owner or due date")
    status = changes.get("status")
    if status is not None and status != part.status:
        _check_move(part, status, actor=actor, account_side=account_side)
        if status == "rejected" and not changes.get("acceptance_note"):
            raise Unprocessable("acceptance_note: say why the delivery is rejected", field="acceptance_note")
        part.status = status
        if status == "delivered":
            part.delivered_at = now
        if status in ("accepted", "rejected"):
            part.accepted_by, part.accepted_at = actor.user_id, now if status == "accepted" else None
    if "owner_id" in edits:
        await require_part_owner(session, user_id=edits["owner_id"], field="owner_id", account_id=part.account_id)
    if "due_on" in edits:
        part.overdue_notified_at = None  # a new due date is a new occurrence of the notice
    for key, value in edits.items():
        setattr(part, key, value)
    if "acceptance_note" in changes:
        part.acceptance_note = changes["acceptance_note"]
    part.version += 1
    part.updated_at = now
    await session.flush()
    return part


async def project_parts(session: AsyncSession, project_ids: list[str]) -> dict[str, list[ProjectPart]]:
    """The parts of projects, by project id (by due date)."""
    parts: dict[str, list[ProjectPart]] = defaultdict(list)
    if project_ids:
        rows = await session.scalars(
            select(ProjectPart)
            .where(ProjectPart.project_id.in_(project_ids))
            .order_by(ProjectPart.due_on, ProjectPart.created_at, ProjectPart.id)
        )
        for part in rows:
            parts[part.project_id].append(part)
    return parts


def progress(parts: list[ProjectPart], today: date) -> Progress:
    """The project's progress from all its parts (whoever looks)."""
    return progress_of(((p.status, p.due_on) for p in parts), today)


def read_part(part: ProjectPart, today: date) -> PartRead:
    """A part as the API shows it (``overdue`` as of ``today``)."""
    data: dict[str, Any] = {c: getattr(part, c) for c in PartRead.model_fields if c != "overdue"}
    return PartRead(**data, overdue=is_overdue(part.status, part.due_on, today))


def read_project(
    project: CrossProject, parts: list[ProjectPart], *, today: date, only_owner: str | None = None
) -> ProjectRead:
    """A project with its progress (from every part) and the parts shown (``only_owner``: just theirs)."""
    done = progress(parts, today)
    shown = [p for p in parts if only_owner is None or p.owner_id == only_owner]
    return ProjectRead(
        id=project.id,
        account_id=project.account_id,
        title=project.title,
        description=project.description,
        customer_project=project.customer_project,
        requested_by=project.requested_by,
        progress_pct=done.progress_pct,
        parts_total=done.parts,
        parts_accepted=done.accepted,
        parts_overdue=done.overdue,
        parts=[read_part(p, today) for p in shown],
        created_at=project.created_at,
        updated_at=project.updated_at,
        version=project.version,
    )


def _owns_a_part(actor: Principal) -> Any:
    return exists(
        select(ProjectPart.id).where(ProjectPart.project_id == CrossProject.id, ProjectPart.owner_id == actor.user_id)
    )


async def seen_accounts(session: AsyncSession, *, actor: Principal, account_ids: set[str]) -> set[str]:
    """Which of these accounts the actor sees (their projects show every part; the others only the actor's)."""
    if actor.sees_whole_portfolio or not account_ids:
        return set(account_ids)
    access = platform.account_access
    rows = await session.scalars(
        select(access.c.account_id).where(access.c.account_id.in_(account_ids), access.c.user_id == actor.user_id)
    )
    return set(rows)


async def list_projects(
    session: AsyncSession, *, actor: Principal, page: PageParams, account_id: str | None = None
) -> tuple[list[CrossProject], int]:
    """Projects of the accounts the actor sees and those they own a part of (newest first), and their total."""
    query = select(CrossProject).where(
        or_(visible_accounts_clause(platform, actor, CrossProject.account_id), _owns_a_part(actor))
    )
    if account_id is not None:
        query = query.where(CrossProject.account_id == account_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(CrossProject.created_at.desc(), CrossProject.id).limit(page.limit).offset(page.offset)
    )
    return list(rows), int(total or 0)


async def my_parts(
    session: AsyncSession, *, actor: Principal, today: date, page: PageParams, overdue: bool | None = None
) -> tuple[list[MyPart], int]:
    """The actor's parts (their queue) with their projects' headers, by due date, and their total."""
    query = (
        select(ProjectPart, CrossProject.title, CrossProject.customer_project)
        .join(CrossProject, CrossProject.id == ProjectPart.project_id)
        .where(ProjectPart.owner_id == actor.user_id)
    )
    if overdue is True:
        query = query.where(ProjectPart.status.in_(WORKING_STATUSES), ProjectPart.due_on < today)
    elif overdue is False:
        query = query.where(or_(ProjectPart.status.not_in(WORKING_STATUSES), ProjectPart.due_on >= today))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(
        query.order_by(ProjectPart.due_on, ProjectPart.id).limit(page.limit).offset(page.offset)
    )
    out = [
        MyPart(**read_part(part, today).model_dump(), project_title=title, customer_project=customer)
        for part, title, customer in rows.all()
    ]
    return out, int(total or 0)


async def account_projects(
    session: AsyncSession, *, account_id: str, today: date, limit: int = 50
) -> list[tuple[CrossProject, list[ProjectPart], Progress]]:
    """An account's projects (newest first) with their parts and progress (the plan and the account 360)."""
    projects = list(
        await session.scalars(
            select(CrossProject)
            .where(CrossProject.account_id == account_id)
            .order_by(CrossProject.created_at.desc(), CrossProject.id)
            .limit(limit)
        )
    )
    parts = await project_parts(session, [p.id for p in projects])
    return [(p, parts[p.id], progress(parts[p.id], today)) for p in projects]


async def announce_overdue_parts(session: AsyncSession, *, publisher: Publisher, now: datetime, today: date) -> int:
    """Publish ``goals.project_part_overdue`` once for each part still worked on after its due date (the mark
    ``overdue_notified_at`` is written in the same transaction; a new due date clears it); returns how many."""
    accounts = platform.accounts
    rows = (
        await session.execute(
            select(ProjectPart, CrossProject.title, accounts.c.owner_id)
            .join(CrossProject, CrossProject.id == ProjectPart.project_id)
            .outerjoin(accounts, accounts.c.account_id == ProjectPart.account_id)
            .where(
                ProjectPart.status.in_(WORKING_STATUSES),
                ProjectPart.due_on < today,
                ProjectPart.overdue_notified_at.is_(None),
            )
            .order_by(ProjectPart.due_on, ProjectPart.id)
            .with_for_update(skip_locked=True, of=ProjectPart)
        )
    ).all()
    for part, project_title, account_owner in rows:
        part.overdue_notified_at = now
        data = GoalsProjectPartData(
            project_id=part.project_id,
            part_id=part.id,
            project_title=project_title,
            title=part.title,
            department=part.department,
            owner_id=part.owner_id,
            account_owner_id=account_owner,
            due_on=part.due_on,
            status=part.status,
        )
        await publisher.publish(session, GoalsProjectPartOverdue, data, account_id=part.account_id)
    await session.flush()
    return len(rows)
