"""The task force (专项小组): a department's task on an open complaint, due within the customer's SLA; its
assignment and its overdue time are published once each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Select, and_, case, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.config import DEFAULT_TASK_DEPARTMENTS
from services.complaints.intake.models import Complaint, PauseRecord
from services.complaints.intake.states import OPEN_STATES
from services.complaints.intake.timeline import record, touch
from services.complaints.intake.timers import recompute_timers
from services.complaints.models import new_id, platform
from services.complaints.people import fitness_problem, require_worker
from services.complaints.rules import Rules
from services.complaints.taskforce.models import TaskForceTask
from services.complaints.taskforce.schemas import TaskCreate, TaskList, TaskListItem, TaskRead, TaskStatusBody
from shared.api import PageParams
from shared.auth import Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.errors import Conflict, InvalidTransition, Unprocessable
from shared.events import ComplaintTaskAssigned, ComplaintTaskData, ComplaintTaskOverdue

# A task's status moves: open ⇄ done at any time (marking it again restamps it).
TASK_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("open", "done"),
    "done": ("open", "done"),
}


async def publish_task_event(
    session: AsyncSession,
    event_type: type[ComplaintTaskAssigned | ComplaintTaskOverdue],
    *,
    complaint: Complaint,
    task: TaskForceTask,
    now: datetime,
    publisher: Publisher,
) -> None:
    """``complaints.task_assigned`` / ``complaints.task_overdue`` about ``task`` (in the caller's transaction)."""
    data = ComplaintTaskData(
        complaint_id=complaint.id,
        task_id=task.id,
        assignee_id=task.assignee_id,
        department=task.department,
        title=task.title,
        due_at=task.due_at,
    )
    await publisher.publish(session, event_type, data, account_id=complaint.account_id, time=now)


async def resolution_due_limit(
    session: AsyncSession, *, complaint: Complaint, now: datetime, rules: Rules | None
) -> datetime | None:
    """The customer's resolution due time a task must meet: the stored one, or while the SLA is paused (it is
    ``None`` then) the time it moves to when the pause ends now — the earliest it can become. Computed on the one
    path the timers use (``recompute_timers``), with the open pause ended at ``now`` and then put back."""
    if not complaint.paused or rules is None:
        return complaint.resolution_due_at
    open_pause = await session.scalar(
        select(PauseRecord).where(PauseRecord.complaint_id == complaint.id, PauseRecord.ended_at.is_(None))
    )
    if open_pause is None:
        return complaint.resolution_due_at
    open_pause.ended_at = now
    try:
        await recompute_timers(session, complaint=complaint, rules=rules)
        limit = complaint.resolution_due_at
    finally:
        open_pause.ended_at = None
        await recompute_timers(session, complaint=complaint, rules=rules)
    return limit


async def _check_due_at(
    session: AsyncSession, *, complaint: Complaint, due_at: datetime, now: datetime, rules: Rules | None
) -> None:
    """A task's due time: in the future, and no later than the customer's resolution due time (unless that has
    already passed — a breached complaint still needs its task force; then only the future counts)."""
    if due_at <= now:
        raise Unprocessable(f"due_at {due_at.isoformat()} is not in the future", field="due_at")
    limit = await resolution_due_limit(session, complaint=complaint, now=now, rules=rules)
    if limit is not None and limit > now and due_at > limit:
        paused = " (the SLA is paused: the due time it moves to if resumed now)" if complaint.paused else ""
        raise Unprocessable(
            f"due_at {due_at.isoformat()} is after the customer's resolution due time {limit.isoformat()}{paused}",
            field="due_at",
            resolution_due_at=limit.isoformat(),
        )


def is_overdue(task: TaskForceTask, now: datetime) -> bool:
    """Open and past its due time."""
    return task.status == "open" and task.due_at <= now


def task_read(task: TaskForceTask, now: datetime) -> TaskRead:
    """A task as the API shows it, flagged when overdue at ``now``."""
    return TaskRead.model_validate(task).model_copy(update={"overdue": is_overdue(task, now)})


async def add_task(
    session: AsyncSession,
    *,
    complaint: Complaint,
    body: TaskCreate,
    actor: Principal,
    now: datetime,
    publisher: Publisher,
    rules: Rules | None = None,
) -> TaskForceTask:
    """Give a department (one of the configured ones) its task (``complaints.task_assigned``); the due date must be
    in the future and within the customer's resolution SLA."""
    if complaint.state not in OPEN_STATES:
        raise Conflict(f"Tasks can only be added to open complaints, not in {complaint.state!r}")
    departments = rules.task_departments if rules is not None else DEFAULT_TASK_DEPARTMENTS
    if body.department not in departments:
        raise Unprocessable(
            f"Unknown department {body.department!r}; the task force has: {', '.join(departments)}",
            field="department",
        )
    await require_worker(session, user_id=body.assignee_id, field="assignee_id", account_id=complaint.account_id)
    await _check_due_at(session, complaint=complaint, due_at=body.due_at, now=now, rules=rules)
    task = TaskForceTask(
        id=new_id(),
        complaint_id=complaint.id,
        department=body.department,
        title=body.title,
        assignee_id=body.assignee_id,
        due_at=body.due_at.astimezone(UTC),
        status="open",
        created_at=now,
    )
    session.add(task)
    touch(complaint, now)
    record(
        session,
        complaint,
        at=now,
        actor_id=actor.user_id,
        kind="task_added",
        body=body.title,
        data={"department": body.department, "assignee_id": body.assignee_id, "task_id": task.id},
    )
    await publish_task_event(
        session, ComplaintTaskAssigned, complaint=complaint, task=task, now=now, publisher=publisher
    )
    await session.flush()
    return task


async def tasks_of(session: AsyncSession, *, complaint_id: str) -> Sequence[TaskForceTask]:
    """The task force of a complaint."""
    query = select(TaskForceTask).where(TaskForceTask.complaint_id == complaint_id).order_by(TaskForceTask.due_at)
    return (await session.execute(query)).scalars().all()


async def set_task_status(
    session: AsyncSession,
    *,
    complaint: Complaint,
    task: TaskForceTask,
    body: TaskStatusBody,
    actor: Principal,
    now: datetime,
) -> TaskForceTask:
    """Mark a task done (or open again)."""
    allowed = TASK_TRANSITIONS[task.status]
    if body.status not in allowed:
        raise InvalidTransition(
            f"A task {task.status} cannot become {body.status}", current=task.status, allowed=allowed
        )
    task.status = body.status
    task.done_at = now if body.status == "done" else None
    record(
        session,
        complaint,
        at=now,
        actor_id=actor.user_id,
        kind=f"task_{body.status}",
        body=task.title,
        data={"task_id": task.id},
    )
    await session.flush()
    return task


async def follow_account_owner_tasks(
    session: AsyncSession,
    *,
    account_id: str,
    old_owner_id: str | None,
    new_owner_id: str,
    now: datetime,
    publisher: Publisher,
) -> int:
    """Hand the former account owner's open tasks on the account's complaints to the new owner — only when the
    former owner can no longer work on the account (lost sight of it, or inactive); each moved task is published
    as ``complaints.task_assigned`` to its new assignee; returns how many moved."""
    if old_owner_id is None or old_owner_id == new_owner_id:
        return 0
    if await fitness_problem(session, user_id=old_owner_id, account_id=account_id) is None:
        return 0  # still on the account (e.g. stayed on its team): the tasks stay theirs
    rows = (
        await session.execute(
            select(TaskForceTask, Complaint)
            .join(Complaint, Complaint.id == TaskForceTask.complaint_id)
            .where(
                Complaint.account_id == account_id,
                TaskForceTask.status == "open",
                TaskForceTask.assignee_id == old_owner_id,
            )
        )
    ).all()
    for task, complaint in rows:
        task.assignee_id = new_owner_id
        data = {"task_id": task.id, "from": old_owner_id, "to": new_owner_id}
        record(session, complaint, at=now, actor_id="system", kind="task_reassigned", body=task.title, data=data)
        await publish_task_event(
            session, ComplaintTaskAssigned, complaint=complaint, task=task, now=now, publisher=publisher
        )
    await session.flush()
    return len(rows)


async def check_overdue_tasks(
    session: AsyncSession, *, now: datetime, publisher: Publisher, batch_size: int = 1000
) -> int:
    """Mark every open task past its due time on an open complaint as notified and publish its one
    ``complaints.task_overdue`` (a ``task_overdue`` timeline entry too); part of the periodic timer check.

    The mark (``overdue_notified_at``) and the event share the caller's transaction, so a second pass or a restart
    never repeats it; a task marked done and opened again keeps its mark. Returns how many were found overdue.
    """
    query = (
        select(TaskForceTask, Complaint)
        .join(Complaint, Complaint.id == TaskForceTask.complaint_id)
        .where(
            TaskForceTask.status == "open",
            TaskForceTask.due_at <= now,
            TaskForceTask.overdue_notified_at.is_(None),
            Complaint.state.in_(OPEN_STATES),
        )
        .order_by(TaskForceTask.due_at)
        .limit(batch_size)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Several replicas may run the job at once: each takes the tasks no other pass holds.
        query = query.with_for_update(skip_locked=True, of=TaskForceTask)
    rows = (await session.execute(query)).all()
    for task, complaint in rows:
        task.overdue_notified_at = now
        data = {"task_id": task.id, "assignee_id": task.assignee_id, "due_at": task.due_at.isoformat()}
        record(session, complaint, at=now, actor_id="system", kind="task_overdue", body=task.title, data=data)
        await publish_task_event(
            session, ComplaintTaskOverdue, complaint=complaint, task=task, now=now, publisher=publisher
        )
    await session.flush()
    return len(rows)


@dataclass(frozen=True)
class TaskFilters:
    """What the task list narrows the visible complaints' tasks to; ``None`` means any."""

    overdue: bool | None = None
    status: str | None = None
    assignee_id: str | None = None
    department: str | None = None
    account_id: str | None = None


def _task_query(actor: Principal, filters: TaskFilters, now: datetime) -> Select[TaskForceTask, Complaint]:
    query = (
        select(TaskForceTask, Complaint)
        .join(Complaint, Complaint.id == TaskForceTask.complaint_id)
        .where(visible_accounts_clause(platform, actor, Complaint.account_id))
    )
    overdue = is_overdue_clause(now)
    conditions = {
        "status": TaskForceTask.status == filters.status,
        "assignee_id": TaskForceTask.assignee_id == filters.assignee_id,
        "department": TaskForceTask.department == filters.department,
        "account_id": Complaint.account_id == filters.account_id,
    }
    for name, condition in conditions.items():
        if getattr(filters, name) is not None:
            query = query.where(condition)
    if filters.overdue is not None:
        query = query.where(overdue if filters.overdue else not_(overdue))
    return query


async def list_tasks(
    session: AsyncSession, *, actor: Principal, filters: TaskFilters, page: PageParams, now: datetime
) -> TaskList:
    """A page of the tasks on complaints the actor may see (overdue first by due time), with the overdue count."""
    query = _task_query(actor, filters, now)
    counted = query.with_only_columns(
        func.count(), func.coalesce(func.sum(case((is_overdue_clause(now), 1), else_=0)), 0)
    )
    total, overdue_total = tuple((await session.execute(counted.order_by(None))).one())
    ordered = query.order_by(TaskForceTask.due_at, TaskForceTask.id).limit(page.limit).offset(page.offset)
    items = [
        TaskListItem(
            **task_read(task, now).model_dump(),
            complaint_id=complaint.id,
            account_id=complaint.account_id,
            complaint_title=complaint.title,
        )
        for task, complaint in (await session.execute(ordered)).all()
    ]
    return TaskList(
        items=items, total=int(total), overdue_total=int(overdue_total), limit=page.limit, offset=page.offset
    )


def is_overdue_clause(now: datetime) -> ColumnElement[bool]:
    """SQL: the task is open and past its due time at ``now``."""
    return and_(TaskForceTask.status == "open", TaskForceTask.due_at <= now)


async def task_reads(session: AsyncSession, *, complaint_id: str, now: datetime) -> list[TaskRead]:
    """The complaint's task force as the API shows it (overdue ones flagged at ``now``)."""
    return [task_read(task, now) for task in await tasks_of(session, complaint_id=complaint_id)]
