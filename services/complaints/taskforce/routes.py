"""HTTP routes of the task force."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.complaints.deps import Actor, ComplaintForWrite, Paging, RulesDep, TaskForUpdate, Writer
from services.complaints.taskforce import service
from services.complaints.taskforce.schemas import (
    Department,
    DepartmentList,
    TaskCreate,
    TaskList,
    TaskRead,
    TaskStatus,
    TaskStatusBody,
)
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["complaints"], responses=PROBLEM_RESPONSES)
# Fixed paths (/complaints/tasks, /complaints/departments): registered before /complaints/{id}.
lists_router = APIRouter(tags=["complaints"], responses=PROBLEM_RESPONSES)


def task_filters(
    overdue: bool | None = None,
    status: TaskStatus | None = None,
    assignee_id: Annotated[str | None, Query(max_length=100)] = None,
    department: Annotated[Department | None, Query()] = None,
    account_id: Annotated[str | None, Query(max_length=36)] = None,
) -> service.TaskFilters:
    """The task list's filters from the query string."""
    return service.TaskFilters(
        overdue=overdue, status=status, assignee_id=assignee_id, department=department, account_id=account_id
    )


@lists_router.get("/complaints/tasks", summary="Task-force tasks across complaints (e.g. the overdue ones)")
async def list_tasks(
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    page: Paging,
    filters: Annotated[service.TaskFilters, Depends(task_filters)],
) -> TaskList:
    """Tasks on the complaints the caller may see, by due time; ``overdue=true`` lists the overdue ones and
    ``overdue_total`` counts them among all that match."""
    return await service.list_tasks(session, actor=actor, filters=filters, page=page, now=clock.now())


@lists_router.get("/complaints/departments", summary="The task force's departments")
async def list_departments(_: Actor, rules: RulesDep) -> DepartmentList:
    """The configured departments a task may be given to (``KAM_COMPLAINTS_TASK_DEPARTMENTS``)."""
    return DepartmentList(items=list(rules.task_departments))


@router.post("/complaints/{complaint_id}/tasks", status_code=201, summary="Give a department a task")
async def add_task(
    complaint: ComplaintForWrite,
    body: TaskCreate,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    publisher: PublisherDep,
    rules: RulesDep,
) -> TaskRead:
    """A task-force task (published as ``complaints.task_assigned``) for a configured department; due in the
    future and within the customer's resolution SLA (while paused: the due time it moves to if resumed now)."""
    now = clock.now()
    task = await service.add_task(
        session, complaint=complaint, body=body, actor=actor, now=now, publisher=publisher, rules=rules
    )
    return service.task_read(task, now)


@router.patch("/complaints/{complaint_id}/tasks/{task_id}", summary="Mark a task done or open")
async def update_task(
    complaint: ComplaintForWrite,
    task: TaskForUpdate,
    body: TaskStatusBody,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
) -> TaskRead:
    """Task status."""
    now = clock.now()
    await service.set_task_status(session, complaint=complaint, task=task, body=body, actor=actor, now=now)
    return service.task_read(task, now)
