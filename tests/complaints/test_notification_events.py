"""Through the API on a frozen clock: the events the notifications service needs, each published exactly once —
SLA warnings and breaches (also across a restart), owners given at intake, by hand and on hand-over, tasks given
and overdue, revisits due — by the requests and by the periodic timer check."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from services.complaints.jobs import run_sla_check
from shared.clock import FrozenClock
from shared.events import AccountOwnerChanged
from tests.complaints.helpers import (
    MONDAY_9AM_BEIJING,
    SUPERVISOR,
    TASK_FORCE,
    make_app,
    open_complaint,
    outbox_events,
    parse_time,
    register_account,
)
from tests.support import running


async def of_type(app: FastAPI, complaint_id: str, event_type: str) -> list[dict[str, Any]]:
    """The outbox events of one type about one complaint, in order."""
    return [e for e in await outbox_events(app, complaint_id) if e["type"] == event_type]


async def test_a_first_response_warning_then_its_breach_are_published_once_even_across_a_restart(make_database):
    url = await make_database("complaints")
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    first = make_app(url, clock)
    async with running(first) as client:
        account_id = await register_account(first, tier="key")
        complaint = await open_complaint(client, account_id, severity="medium")  # key × medium: 24 h, warning 18 h
        clock.advance(timedelta(hours=18))
        assert await run_sla_check(first) == {"first_response_warning": 1}
        assert await run_sla_check(first) == {}
    cid, due_at = complaint["id"], MONDAY_9AM_BEIJING + timedelta(hours=24)
    second = make_app(url, clock)  # a restart: the marks are stored, nothing is announced again
    async with running(second) as client:
        assert await run_sla_check(second) == {}
        clock.advance(timedelta(hours=6))
        assert await run_sla_check(second) == {"first_response_breach": 1}
        manual = await client.post("/complaints/sla/check", headers=SUPERVISOR)
        clock.advance(timedelta(hours=1))
        assert await run_sla_check(second) == {}
    assert manual.status_code == 200 and manual.json()["counts"] == {}
    [warning] = await of_type(second, cid, "complaints.sla_warning")
    [breach] = await of_type(second, cid, "complaints.sla_breached")
    for event in (warning, breach):
        assert event["account_id"] == account_id and event["source"] == "complaints"
        data = event["data"]
        assert data["timer"] == "first_response" and parse_time(data["due_at"]) == due_at
        assert (data["severity"], data["tier"], data["owner_id"]) == ("medium", "key", "am-li")
        assert data["title"] == "批次质量问题"
    assert parse_time(warning["time"]) == MONDAY_9AM_BEIJING + timedelta(hours=18)
    assert parse_time(breach["time"]) == due_at
    [escalated] = await of_type(second, cid, "complaints.escalated")
    assert escalated["data"]["reason"] == "first_response_breach"


async def test_intake_and_a_reassignment_publish_the_owner_given_with_the_previous_owner(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id, severity="critical")
        clock.advance(timedelta(minutes=30))
        moved = await client.post(
            f"/complaints/{complaint['id']}/assign", json={"owner_id": "qa-sun", "reason": "质量部牵头处理"}
        )
        refused = await client.post(  # already theirs: 409, nothing published
            f"/complaints/{complaint['id']}/assign", json={"owner_id": "qa-sun", "reason": "再次指派"}
        )
    assert moved.status_code == 200 and moved.json()["owner_id"] == "qa-sun"
    assert refused.status_code == 409
    assigned = await of_type(app, complaint["id"], "complaints.assigned")
    assert [(e["data"]["owner_id"], e["data"]["previous_owner_id"], e["data"]["assigned_by"]) for e in assigned] == [
        ("am-li", None, "sup-wang"),
        ("qa-sun", "am-li", "sup-wang"),
    ]
    assert assigned[1]["data"]["severity"] == "critical" and assigned[1]["data"]["title"] == "批次质量问题"
    assert parse_time(assigned[1]["time"]) == MONDAY_9AM_BEIJING + timedelta(minutes=30)


async def test_the_hand_over_on_owner_changed_publishes_each_complaint_and_task_to_the_new_owner(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id)
        due = (MONDAY_9AM_BEIJING + timedelta(hours=8)).isoformat()
        task = await client.post(
            f"/complaints/{complaint['id']}/tasks",
            json={"department": "after_sales", "title": "现场更换", "assignee_id": "am-li", "due_at": due},
        )
        event = AccountOwnerChanged(
            source="scoring",
            account_id=account_id,
            data={"old_owner_id": "am-li", "new_owner_id": "am-zhang", "team_member_ids": list(TASK_FORCE)},
        )
        await app.state.consumer.process(event)
        await app.state.consumer.process(event)  # a redelivery is skipped by the inbox
    assert task.status_code == 201, task.text
    assigned = await of_type(app, complaint["id"], "complaints.assigned")
    assert [(e["data"]["owner_id"], e["data"]["previous_owner_id"], e["data"]["assigned_by"]) for e in assigned] == [
        ("am-li", None, "sup-wang"),
        ("am-zhang", "am-li", "system"),
    ]
    given = await of_type(app, complaint["id"], "complaints.task_assigned")
    assert [(e["data"]["task_id"], e["data"]["assignee_id"]) for e in given] == [
        (task.json()["id"], "am-li"),
        (task.json()["id"], "am-zhang"),
    ]


async def test_a_task_is_published_when_given_and_once_when_it_is_overdue(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id, severity="high")
        cid = complaint["id"]
        due = MONDAY_9AM_BEIJING + timedelta(hours=6)
        created = await client.post(
            f"/complaints/{cid}/tasks",
            json={"department": "quality", "title": "分析失效批次", "assignee_id": "qa-sun", "due_at": due.isoformat()},
        )
        clock.advance(timedelta(hours=5))
        early = await client.post("/complaints/sla/check")
        clock.advance(timedelta(hours=1))
        found = await client.post("/complaints/sla/check")
        again = await run_sla_check(app)
        clock.advance(timedelta(hours=2))
        later = await run_sla_check(app)
        timeline = (await client.get(f"/complaints/{cid}/timeline")).json()
    assert created.status_code == 201, created.text
    assert early.json()["counts"] == {}
    assert found.json()["counts"] == {"task_overdue": 1}
    assert "task_overdue" not in again and "task_overdue" not in later
    [given] = await of_type(app, cid, "complaints.task_assigned")
    [overdue] = await of_type(app, cid, "complaints.task_overdue")
    for event in (given, overdue):
        assert event["data"] == {
            "complaint_id": cid,
            "task_id": created.json()["id"],
            "assignee_id": "qa-sun",
            "department": "quality",
            "title": "分析失效批次",
            "due_at": "2026-03-02T07:00:00Z",
        }
    assert parse_time(overdue["time"]) == due
    assert [e["kind"] for e in timeline].count("task_overdue") == 1


async def test_a_resolved_complaint_publishes_revisit_due_once_when_its_revisit_falls_due(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        cid = (await open_complaint(client, account_id))["id"]
        await client.post(f"/complaints/{cid}/acknowledge", json={"message": "已收到"})
        clock.advance(timedelta(hours=3))
        resolved = (await client.post(f"/complaints/{cid}/resolve", json={"message": "已更换整批"})).json()
        clock.advance(timedelta(hours=47))
        early = await run_sla_check(app)
        clock.advance(timedelta(hours=1))
        counts = [await run_sla_check(app), await run_sla_check(app)]
        revisited = await client.post(f"/complaints/{cid}/revisit", json={"satisfaction": 5, "comment": "非常满意"})
        clock.advance(timedelta(days=7))
        later = await run_sla_check(app)
    revisit_due_at = MONDAY_9AM_BEIJING + timedelta(hours=3 + 48)  # resolved + the default 48 h
    assert parse_time(resolved["revisit_due_at"]) == revisit_due_at
    assert early == {} and counts == [{"revisit_due": 1}, {}] and later == {}
    assert revisited.status_code == 200
    [due] = await of_type(app, cid, "complaints.revisit_due")
    assert due["account_id"] == account_id
    assert due["data"] == {
        "complaint_id": cid,
        "owner_id": "am-li",
        "due_at": "2026-03-04T04:00:00Z",
        "title": "批次质量问题",
    }


async def test_the_revisit_window_is_a_setting_and_may_count_business_hours(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock, revisit_after_hours=16, revisit_hours_mode="business")
    async with running(app, headers=SUPERVISOR) as client:
        cid = (await open_complaint(client, await register_account(app)))["id"]
        await client.post(f"/complaints/{cid}/acknowledge", json={"message": "已收到"})
        clock.advance(timedelta(days=4, hours=8))  # Friday 17:00 Beijing
        resolved = (await client.post(f"/complaints/{cid}/resolve", json={"message": "已处理"})).json()
    # 16 working hours from Friday 17:00: 1 h on Friday, 9 h on Monday, 6 h on Tuesday → Tuesday 15:00 Beijing.
    assert parse_time(resolved["revisit_due_at"]) == MONDAY_9AM_BEIJING + timedelta(days=8, hours=6)


async def test_a_whole_closed_loop_publishes_each_notification_event_once(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app, headers=SUPERVISOR) as client:
        cid = (await open_complaint(client, await register_account(app), severity="low"))["id"]
        for hours in (18, 6, 1):  # warning, breach, nothing new
            clock.advance(timedelta(hours=hours))
            await run_sla_check(app)
        await client.post(f"/complaints/{cid}/acknowledge", json={"message": "已收到"})
        await client.post(f"/complaints/{cid}/resolve", json={"message": "已处理"})
        for _ in range(3):
            clock.advance(timedelta(days=1))
            await run_sla_check(app)
    types = Counter(e["type"] for e in await outbox_events(app, cid))
    assert types == {
        "complaints.opened": 1,
        "complaints.assigned": 1,
        "complaints.sla_warning": 1,
        "complaints.sla_breached": 1,
        "complaints.escalated": 1,
        "complaints.acknowledged": 1,
        "complaints.resolved": 1,
        "complaints.revisit_due": 1,
    }
