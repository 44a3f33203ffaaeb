"""The task force (专项小组): a department's task on an open complaint, due within the customer's SLA; its
assignment and its overdue time are published once each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.intake.models import Complaint
from services.complaints.intake.states import OPEN_STATES
from services.complaints.intake.timeline import record, touch
from services.complaints.models import new_id
from services.complaints.people import fitness_problem, require_worker
from services.complaints.taskforce.models import TaskForceTask
from services.complaints.taskforce.schemas import TaskCreate, TaskStatusBody
from shared.auth import Principal
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


async def add_task(
    session: AsyncSession,
    *,
    complaint: Complaint,
    body: TaskCreate,
    actor: Principal,
    now: datetime,
    publisher: Publisher,
) -> TaskForceTask:
    """Give a department its task (``complaints.task_assigned``); the due date must fall within the customer's
    resolution SLA."""
    if complaint.state not in OPEN_STATES:
        raise Conflict(f"Tasks can only be added to open complaints, not in {complaint.state!r}")
    await require_worker(session, user_id=body.assignee_id, field="assignee_id", account_id=complaint.account_id)
    if complaint.resolution_due_at is not None and body.due_at > complaint.resolution_due_at:
        raise Unprocessable(
            f"due_at {body.due_at.isoformat()} is after the customer's resolution due time "
            f"{complaint.resolution_due_at.isoformat()}",
            field="due_at",
        )
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
