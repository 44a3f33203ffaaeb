"""The task force on a real session, without HTTP: tasks within the customer's SLA, their status table."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.complaints.intake import lifecycle
from services.complaints.intake.schemas import AcknowledgeBody
from services.complaints.intake.timeline import timeline
from services.complaints.taskforce import service
from services.complaints.taskforce.schemas import TaskCreate, TaskStatusBody
from services.complaints.taskforce.service import TASK_TRANSITIONS
from shared.errors import Conflict, Unprocessable
from tests.complaints.domain import LI, SUPERVISOR

# Restated on purpose: a task may be marked open or done whatever it is now.
TASK_MOVES: dict[str, tuple[str, ...]] = {
    "open": ("open", "done"),
    "done": ("open", "done"),
}


def task(world, *, hours: float = 12, department: str = "quality", title: str = "分析失效批次") -> TaskCreate:
    return TaskCreate(
        department=department, title=title, assignee_id="qa-chen", due_at=world.now + timedelta(hours=hours)
    )


async def test_adding_a_task_records_it_on_the_complaint_and_its_timeline(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))  # high: resolution due in 120 h
        version = complaint.version
        added = await service.add_task(
            session, complaint=complaint, body=task(world), actor=LI, now=world.now, publisher=world.publisher
        )
        entries = await timeline(session, complaint_id=complaint.id, visibility=None)
        listed = await service.tasks_of(session, complaint_id=complaint.id)
    assert (added.status, added.department, added.assignee_id) == ("open", "quality", "qa-chen")
    assert [t.id for t in listed] == [added.id]
    assert complaint.version == version + 1
    assert entries[-1].kind == "task_added" and entries[-1].actor_id == "am-li"
    assert entries[-1].data == {"department": "quality", "assignee_id": "qa-chen", "task_id": added.id}


async def test_a_task_due_after_the_customers_resolution_time_is_refused(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session), severity="critical")  # 72 h
        with pytest.raises(Unprocessable) as refused:
            await service.add_task(
                session,
                complaint=complaint,
                body=task(world, hours=73),
                actor=LI,
                now=world.now,
                publisher=world.publisher,
            )
        assert await service.tasks_of(session, complaint_id=complaint.id) == []
    assert refused.value.extra["field"] == "due_at"


async def test_tasks_are_only_added_to_open_complaints(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        for move in (lifecycle.acknowledge, lifecycle.resolve):
            await move(
                session,
                complaint=complaint,
                body=AcknowledgeBody(message="已处理"),
                actor=SUPERVISOR,
                now=world.now,
                rules=world.rules,
                publisher=world.publisher,
            )
        with pytest.raises(Conflict):
            await service.add_task(
                session, complaint=complaint, body=task(world), actor=LI, now=world.now, publisher=world.publisher
            )


async def test_the_task_force_is_listed_by_due_date(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        later = await service.add_task(
            session, complaint=complaint, body=task(world, hours=48), actor=LI, now=world.now, publisher=world.publisher
        )
        sooner = await service.add_task(
            session,
            complaint=complaint,
            body=task(world, hours=6, department="logistics"),
            actor=LI,
            now=world.now,
            publisher=world.publisher,
        )
        listed = await service.tasks_of(session, complaint_id=complaint.id)
    assert [t.id for t in listed] == [sooner.id, later.id]


async def test_the_task_status_table_allows_open_and_done_from_either(world):
    assert TASK_TRANSITIONS == TASK_MOVES
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        for start, targets in TASK_MOVES.items():
            for target in targets:
                added = await service.add_task(
                    session, complaint=complaint, body=task(world), actor=LI, now=world.now, publisher=world.publisher
                )
                if start == "done":
                    await service.set_task_status(
                        session,
                        complaint=complaint,
                        task=added,
                        body=TaskStatusBody(status="done"),
                        actor=LI,
                        now=world.now,
                    )
                world.advance(minutes=1)
                await service.set_task_status(
                    session,
                    complaint=complaint,
                    task=added,
                    body=TaskStatusBody(status=target),
                    actor=LI,
                    now=world.now,
                )
                assert added.status == target
                assert added.done_at == (world.now if target == "done" else None)
        kinds = [e.kind for e in await timeline(session, complaint_id=complaint.id, visibility=None)]
    assert kinds.count("task_done") == 4 and kinds.count("task_open") == 2  # two marked done first
