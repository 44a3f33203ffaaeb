"""The events the notifications service needs, on a real session without HTTP: SLA warnings and breaches, owners
given, tasks given and overdue, revisits due — each published once, with its mark, in the same transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alembic import command
from sqlalchemy.engine import Connection

from services.complaints.app import SPEC
from services.complaints.intake import lifecycle
from services.complaints.intake import service as intake
from services.complaints.intake.revisits import check_due_revisits
from services.complaints.intake.schemas import AcknowledgeBody, ReasonBody, RevisitBody
from services.complaints.intake.timeline import timeline
from services.complaints.intake.timers import check_sla_timers
from services.complaints.jobs import wake_stored_timers
from services.complaints.taskforce import service as taskforce
from services.complaints.taskforce.schemas import TaskCreate, TaskStatusBody
from shared.migrations import alembic_config, upgrade_to_head
from tests.complaints.domain import LI, SUPERVISOR
from tests.complaints.helpers import MONDAY_9AM_BEIJING, parse_time

NOTIFICATION_TYPES = (
    "complaints.sla_warning",
    "complaints.sla_breached",
    "complaints.assigned",
    "complaints.task_assigned",
    "complaints.task_overdue",
    "complaints.revisit_due",
)
PREVIOUS_HEAD = "b7c41e9a2d05"  # the complaints schema before the notification marks


async def published(world, session, *types: str) -> list[dict[str, Any]]:
    """The outbox events of these types (all notification types when none is named), in order."""
    wanted = types or NOTIFICATION_TYPES
    return [e for e in await world.events(session) if e["type"] in wanted]


async def reload(session, row: Any) -> Any:
    """The row as this transaction sees it (rows of an earlier transaction are detached)."""
    return await session.get(type(row), row.id)


async def wake(world, session) -> dict[str, int]:
    """One pass of every stored timer at the world's time (what the periodic job does)."""
    return await wake_stored_timers(session, now=world.now, rules=world.rules, publisher=world.publisher)


async def step(world, session, complaint, target: str) -> None:
    """Move the complaint the way its route does."""
    common: dict[str, Any] = {"complaint": complaint, "actor": SUPERVISOR, "now": world.now}
    loop = {"rules": world.rules, "publisher": world.publisher}
    if target == "acknowledged":
        await lifecycle.acknowledge(session, body=AcknowledgeBody(message="已收到，正在处理"), **common, **loop)
    elif target == "resolved":
        await lifecycle.resolve(session, body=AcknowledgeBody(message="已更换整批"), **common, **loop)
    elif target == "revisited":
        await lifecycle.record_revisit(session, body=RevisitBody(satisfaction=4, comment="满意"), **common, **loop)
    elif target == "reopened":
        await lifecycle.reopen(session, body=ReasonBody(reason="问题复发"), **common, **loop)
    else:
        raise AssertionError(f"no step to {target}")


async def test_a_first_response_warning_and_breach_are_published_once_each_with_the_mark(world):
    async with world.transaction() as session:
        account_id = await world.account(session, tier="key")
        complaint = await world.open(session, account_id, severity="medium")  # key × medium: 24 h, warning 18 h
    due_at = MONDAY_9AM_BEIJING + timedelta(hours=24)
    world.advance(hours=18)
    async with world.transaction() as session:
        warned = await wake(world, session)
        again = await wake(world, session)
        [warning] = await published(world, session, "complaints.sla_warning")
        stored = await reload(session, complaint)
    assert warned == {"first_response_warning": 1} and again == {}
    assert stored.first_response_warned_at == world.now
    assert warning["account_id"] == account_id and parse_time(warning["time"]) == world.now
    assert warning["data"] == {
        "complaint_id": complaint.id,
        "timer": "first_response",
        "due_at": "2026-03-03T01:00:00Z",
        "severity": "medium",
        "tier": "key",
        "owner_id": "am-li",
        "title": "控制器批次故障",
    }
    world.advance(hours=6)  # exactly the due time
    assert world.now == due_at
    async with world.transaction() as session:
        breached = await wake(world, session)
        world.advance(hours=1)
        later = await wake(world, session)
        warnings = await published(world, session, "complaints.sla_warning")
        [breach] = await published(world, session, "complaints.sla_breached")
        escalated = await published(world, session, "complaints.escalated")
        stored = await reload(session, complaint)
    assert breached == {"first_response_breach": 1} and later == {}
    assert len(warnings) == 1
    assert breach["data"]["timer"] == "first_response" and parse_time(breach["data"]["due_at"]) == due_at
    assert stored.first_response_breached_at == due_at
    assert [e["data"]["reason"] for e in escalated] == ["first_response_breach"]  # as before


async def test_a_warning_its_breach_overtook_is_recorded_but_only_the_breach_is_published(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session), severity="critical")  # 24 h
    world.advance(hours=25)
    async with world.transaction() as session:
        counts = await check_sla_timers(session, now=world.now, rules=world.rules, publisher=world.publisher)
        events = await published(world, session, "complaints.sla_warning", "complaints.sla_breached")
        kinds = [e.kind for e in await timeline(session, complaint_id=complaint.id, visibility=None)]
    assert counts == {"first_response_warning": 1, "first_response_breach": 1}  # the counts stay as they were
    assert [(e["type"], e["data"]["timer"]) for e in events] == [("complaints.sla_breached", "first_response")]
    assert kinds.count("sla_warning") == 1 and kinds.count("sla_breached") == 1


async def test_the_update_and_resolution_timers_are_published_under_their_names(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session), severity="critical")
        world.advance(hours=1)
        await step(world, session, complaint, "acknowledged")  # default × critical: update 24 h, resolution 72 h
    update_due, resolution_due = complaint.update_due_at, complaint.resolution_due_at
    assert update_due == MONDAY_9AM_BEIJING + timedelta(hours=25)
    seen: list[dict[str, int]] = []
    for hours in (24, 29, 18):  # to the update due time, the resolution warning (54 h), the resolution due time
        world.advance(hours=hours)
        async with world.transaction() as session:
            seen.append(await wake(world, session))
            seen.append(await wake(world, session))
    async with world.transaction() as session:
        events = await published(world, session, "complaints.sla_warning", "complaints.sla_breached")
    # The jump to the update due time passes its warning too: recorded, but not published (the breach says more).
    assert seen == [
        {"update_warning": 1, "update_breach": 1},
        {},
        {"resolution_warning": 1},
        {},
        {"resolution_breach": 1},
        {},
    ]
    assert [(e["type"], e["data"]["timer"], parse_time(e["data"]["due_at"])) for e in events] == [
        ("complaints.sla_breached", "update", update_due),
        ("complaints.sla_warning", "resolution", resolution_due),
        ("complaints.sla_breached", "resolution", resolution_due),
    ]
    assert all(e["data"]["tier"] is None and e["data"]["severity"] == "critical" for e in events)


async def test_a_reopen_is_a_new_occurrence_of_the_resolution_timer(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session), severity="critical")
        await step(world, session, complaint, "acknowledged")
    world.advance(hours=73)
    async with world.transaction() as session:
        await wake(world, session)
        complaint = await reload(session, complaint)
        await step(world, session, complaint, "resolved")
        await step(world, session, complaint, "reopened")  # the resolution clock restarts: 72 h from now
    world.advance(hours=73)
    async with world.transaction() as session:
        await wake(world, session)
        await wake(world, session)
        breaches = await published(world, session, "complaints.sla_breached")
    resolution = [e for e in breaches if e["data"]["timer"] == "resolution"]
    assert len(resolution) == 2
    assert parse_time(resolution[1]["data"]["due_at"]) == complaint.resolution_due_at


async def test_intake_and_every_hand_over_publish_the_owner_given(world):
    async with world.transaction() as session:
        account_id = await world.account(session)
        complaint = await world.open(session, account_id, severity="high")
        await world.change_owner(session, account_id, "am-zhang")
        await intake.follow_account_owner(
            session,
            account_id=account_id,
            old_owner_id="am-li",
            new_owner_id="am-zhang",
            now=world.now,
            publisher=world.publisher,
        )
        assigned = await published(world, session, "complaints.assigned")
    assert [e["data"] for e in assigned] == [
        {
            "complaint_id": complaint.id,
            "owner_id": "am-li",
            "previous_owner_id": None,
            "assigned_by": "sup-wang",
            "severity": "high",
            "title": "控制器批次故障",
        },
        {
            "complaint_id": complaint.id,
            "owner_id": "am-zhang",
            "previous_owner_id": "am-li",
            "assigned_by": "system",
            "severity": "high",
            "title": "控制器批次故障",
        },
    ]
    assert {e["account_id"] for e in assigned} == {account_id}


def _task(world, *, hours: float, assignee_id: str = "qa-chen") -> TaskCreate:
    return TaskCreate(
        department="quality", title="分析失效批次", assignee_id=assignee_id, due_at=world.now + timedelta(hours=hours)
    )


async def test_a_task_is_published_when_given_and_once_when_overdue(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))  # high: resolution in 120 h
        task = await taskforce.add_task(
            session, complaint=complaint, body=_task(world, hours=6), actor=LI, now=world.now, publisher=world.publisher
        )
        done_in_time = await taskforce.add_task(
            session, complaint=complaint, body=_task(world, hours=6), actor=LI, now=world.now, publisher=world.publisher
        )
        await taskforce.set_task_status(
            session, complaint=complaint, task=done_in_time, body=TaskStatusBody(status="done"), actor=LI, now=world.now
        )
        [given, _] = await published(world, session, "complaints.task_assigned")
    assert given["data"] == {
        "complaint_id": complaint.id,
        "task_id": task.id,
        "assignee_id": "qa-chen",
        "department": "quality",
        "title": "分析失效批次",
        "due_at": "2026-03-02T07:00:00Z",
    }
    world.advance(hours=5, minutes=59)
    async with world.transaction() as session:
        assert await taskforce.check_overdue_tasks(session, now=world.now, publisher=world.publisher) == 0
    world.advance(minutes=1)
    async with world.transaction() as session:
        first = await wake(world, session)
        again = await wake(world, session)
        # Opened again after the overdue notice: still only the one notice.
        complaint, task = await reload(session, complaint), await reload(session, task)
        for status in ("done", "open"):
            body = TaskStatusBody(status=status)
            await taskforce.set_task_status(session, complaint=complaint, task=task, body=body, actor=LI, now=world.now)
        world.advance(hours=1)
        later = await wake(world, session)
        [overdue] = await published(world, session, "complaints.task_overdue")
        entries = await timeline(session, complaint_id=complaint.id, visibility=None)
    assert first == {"task_overdue": 1} and again == {} and later == {}
    assert overdue["data"]["task_id"] == task.id and overdue["data"]["assignee_id"] == "qa-chen"
    assert overdue["data"]["due_at"] == "2026-03-02T07:00:00Z"
    assert task.overdue_notified_at == MONDAY_9AM_BEIJING + timedelta(hours=6)
    [entry] = [e for e in entries if e.kind == "task_overdue"]
    assert entry.actor_id == "system" and entry.data["task_id"] == task.id


async def test_tasks_of_a_resolved_complaint_are_not_announced_overdue(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        await taskforce.add_task(
            session, complaint=complaint, body=_task(world, hours=2), actor=LI, now=world.now, publisher=world.publisher
        )
        await step(world, session, complaint, "acknowledged")
        await step(world, session, complaint, "resolved")
    world.advance(hours=3)
    async with world.transaction() as session:
        assert await taskforce.check_overdue_tasks(session, now=world.now, publisher=world.publisher) == 0


async def test_a_handed_over_task_is_published_to_its_new_assignee(world):
    async with world.transaction() as session:
        account_id = await world.account(session)
        complaint = await world.open(session, account_id)
        task = await taskforce.add_task(
            session,
            complaint=complaint,
            body=_task(world, hours=8, assignee_id="am-li"),
            actor=LI,
            now=world.now,
            publisher=world.publisher,
        )
        await world.change_owner(session, account_id, "am-zhang")  # am-li leaves the account (not on its team)
        moved = await taskforce.follow_account_owner_tasks(
            session,
            account_id=account_id,
            old_owner_id="am-li",
            new_owner_id="am-zhang",
            now=world.now,
            publisher=world.publisher,
        )
        given = await published(world, session, "complaints.task_assigned")
    assert moved == 1
    assert [(e["data"]["task_id"], e["data"]["assignee_id"]) for e in given] == [
        (task.id, "am-li"),
        (task.id, "am-zhang"),
    ]


async def test_a_resolved_complaint_announces_its_revisit_once_when_due(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        await step(world, session, complaint, "acknowledged")
        world.advance(hours=2)
        await step(world, session, complaint, "resolved")
    resolved_at = world.now
    assert complaint.revisit_due_at == resolved_at + timedelta(hours=48)  # the default window, calendar hours
    world.advance(hours=47, minutes=59)
    async with world.transaction() as session:
        assert await wake(world, session) == {}
    world.advance(minutes=1)
    async with world.transaction() as session:
        first = await wake(world, session)
        again = await wake(world, session)
        await step(world, session, await reload(session, complaint), "revisited")
        world.advance(days=3)
        later = await wake(world, session)
        [due] = await published(world, session, "complaints.revisit_due")
        kinds = [e.kind for e in await timeline(session, complaint_id=complaint.id, visibility=None)]
    assert first == {"revisit_due": 1} and again == {} and later == {}
    assert due["data"] == {
        "complaint_id": complaint.id,
        "owner_id": "am-li",
        "due_at": "2026-03-04T03:00:00Z",
        "title": "控制器批次故障",
    }
    assert kinds.count("revisit_due") == 1


async def test_a_revisit_made_in_time_is_never_announced_and_a_reopen_waits_for_the_next_resolution(world):
    async with world.transaction() as session:
        in_time = await world.open(session, await world.account(session))
        reopened = await world.open(session, await world.account(session))
        for complaint in (in_time, reopened):
            await step(world, session, complaint, "acknowledged")
            await step(world, session, complaint, "resolved")
        world.advance(hours=1)
        await step(world, session, in_time, "revisited")
        await step(world, session, reopened, "reopened")
    assert reopened.revisit_due_at is None
    world.advance(days=5)
    async with world.transaction() as session:
        assert "revisit_due" not in await wake(world, session)  # (the reopened one's SLA timers did run)
        reopened = await reload(session, reopened)
        await step(world, session, reopened, "resolved")
    world.advance(hours=48)
    async with world.transaction() as session:
        assert await wake(world, session) == {"revisit_due": 1}
        [due] = await published(world, session, "complaints.revisit_due")
    assert due["data"]["complaint_id"] == reopened.id
    assert parse_time(due["data"]["due_at"]) == world.now


async def test_the_revisit_window_can_count_business_hours(world):
    world.rules.revisit_after_minutes, world.rules.revisit_hours_mode = 24 * 60, "business"
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        world.advance(hours=1)
        await step(world, session, complaint, "acknowledged")
        await step(world, session, complaint, "resolved")  # Monday 10:00 Beijing
    # 24 working hours (09:00–18:00): Monday 8 h, Tuesday 9 h, Wednesday 7 h → Wednesday 16:00 Beijing.
    assert complaint.revisit_due_at == MONDAY_9AM_BEIJING + timedelta(days=2, hours=7)


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config(SPEC.migrations_dir)
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_a_complaint_resolved_before_the_revisit_timer_existed_gets_it_from_its_resolution(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        await step(world, session, complaint, "acknowledged")
        await step(world, session, complaint, "resolved")
    resolved_at = world.now
    # Down to the schema before the marks and up again: the resolved row now has no revisit timer, as one
    # resolved before this migration.
    async with world.db.engine.begin() as connection:
        await connection.run_sync(_downgrade, PREVIOUS_HEAD)
    await upgrade_to_head(world.db, SPEC.migrations_dir)
    world.advance(hours=49)
    async with world.transaction() as session:
        counts = await check_due_revisits(session, now=world.now, rules=world.rules, publisher=world.publisher)
        again = await check_due_revisits(session, now=world.now, rules=world.rules, publisher=world.publisher)
        [due] = await published(world, session, "complaints.revisit_due")
    assert (counts, again) == (1, 0)
    assert parse_time(due["data"]["due_at"]) == resolved_at + timedelta(hours=48)
