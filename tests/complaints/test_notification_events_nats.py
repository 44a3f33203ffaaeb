"""Over a real NATS JetStream: the notification events reach ``KAM_COMPLAINTS`` exactly once each, and further
timer checks (after everything was relayed) add nothing to the stream."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import nats
from fastapi import FastAPI
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import FetchTimeoutError
from sqlalchemy import func, select

from services.complaints.jobs import run_sla_check
from services.complaints.models import platform
from shared.clock import FrozenClock
from tests.complaints.helpers import MONDAY_9AM_BEIJING, SUPERVISOR, make_app, open_complaint, register_account
from tests.support import running, wait_until


async def complaint_events_on_jetstream(js: JetStreamContext, complaint_id: str) -> list[dict[str, Any]]:
    """Every event about the complaint as stored in the KAM_COMPLAINTS stream (a fresh ephemeral reader)."""
    sub = await js.pull_subscribe(
        "kam.complaints.>", stream="KAM_COMPLAINTS", config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    )
    events: list[dict[str, Any]] = []
    try:
        while True:
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except (FetchTimeoutError, TimeoutError):
                break
            for msg in msgs:
                await msg.ack()
                events.append(json.loads(msg.data))
    finally:
        await sub.unsubscribe()
    return [e for e in events if e["data"].get("complaint_id") == complaint_id]


async def _relayed(app: FastAPI) -> bool:
    outbox = platform.outbox
    async with app.state.db.transaction() as session:
        pending = await session.scalar(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))
    return pending == 0


async def _subscribed(app: FastAPI) -> bool:
    return bool(app.state.consumer.subscribed.is_set())


async def test_the_notification_events_reach_the_stream_once_each(make_database, nats_url):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await make_database("complaints"), clock, nats_url=nats_url)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        async with running(app, headers=SUPERVISOR) as client:
            await wait_until(lambda: _subscribed(app), message="complaints consumer subscribed")
            cid = (await open_complaint(client, await register_account(app), severity="medium"))["id"]
            due = (MONDAY_9AM_BEIJING + timedelta(hours=6)).isoformat()
            task = await client.post(
                f"/complaints/{cid}/tasks",
                json={"department": "logistics", "title": "追踪补发", "assignee_id": "wl-zhou", "due_at": due},
            )
            assert task.status_code == 201, task.text
            for hours in (6, 12, 6):  # the task overdue, the first-response warning (18 h), its breach (24 h)
                clock.advance(timedelta(hours=hours))
                await run_sla_check(app)
            await client.post(f"/complaints/{cid}/assign", json={"owner_id": "qa-sun", "reason": "质量部牵头"})
            await client.post(f"/complaints/{cid}/acknowledge", json={"message": "已收到"})
            await client.post(f"/complaints/{cid}/resolve", json={"message": "已补发"})
            clock.advance(timedelta(hours=48))
            await run_sla_check(app)
            await wait_until(lambda: _relayed(app), message="complaint events relayed to NATS")
            first = await complaint_events_on_jetstream(js, cid)
            for _ in range(2):  # the stored marks keep later passes quiet
                clock.advance(timedelta(hours=1))
                await run_sla_check(app)
            await wait_until(lambda: _relayed(app), message="nothing left to relay")
            second = await complaint_events_on_jetstream(js, cid)
    finally:
        await nc.close()
    assert Counter(e["type"] for e in first) == {
        "complaints.opened": 1,
        "complaints.assigned": 2,
        "complaints.task_assigned": 1,
        "complaints.task_overdue": 1,
        "complaints.sla_warning": 1,
        "complaints.sla_breached": 1,
        "complaints.escalated": 1,
        "complaints.acknowledged": 1,
        "complaints.resolved": 1,
        "complaints.revisit_due": 1,
    }
    assert [e["id"] for e in second] == [e["id"] for e in first]
    by_type = {e["type"]: e for e in first}
    assert by_type["complaints.sla_warning"]["data"]["timer"] == "first_response"
    assert by_type["complaints.sla_breached"]["data"]["due_at"] == "2026-03-03T01:00:00Z"
    assert by_type["complaints.task_overdue"]["data"]["assignee_id"] == "wl-zhou"
    assert [e["data"]["previous_owner_id"] for e in first if e["type"] == "complaints.assigned"] == [None, "am-li"]
    assert by_type["complaints.revisit_due"]["data"]["owner_id"] == "qa-sun"
