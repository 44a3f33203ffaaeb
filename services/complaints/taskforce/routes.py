"""HTTP routes of the task force."""

from __future__ import annotations

from fastapi import APIRouter

from services.complaints.deps import ComplaintForWrite, TaskForUpdate, Writer
from services.complaints.taskforce import service
from services.complaints.taskforce.schemas import TaskCreate, TaskRead, TaskStatusBody
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["complaints"], responses=PROBLEM_RESPONSES)


@router.post("/complaints/{complaint_id}/tasks", status_code=201, summary="Give a department a task")
async def add_task(
    complaint: ComplaintForWrite,
    body: TaskCreate,
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    publisher: PublisherDep,
) -> TaskRead:
    """A task-force task (published as ``complaints.task_assigned``); due within the customer's resolution SLA."""
    task = await service.add_task(
        session, complaint=complaint, body=body, actor=actor, now=clock.now(), publisher=publisher
    )
    return TaskRead.model_validate(task)


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
    await service.set_task_status(session, complaint=complaint, task=task, body=body, actor=actor, now=clock.now())
    return TaskRead.model_validate(task)
