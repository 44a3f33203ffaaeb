"""The goals periodic jobs announce what the notifications service needs — missed targets and action items due
or overdue — once: a second run or a restarted app on the same database publishes nothing again."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from services.goals.jobs import JOBS, action_item_reminders, retrack_targets
from services.goals.models import platform
from tests.goals.helpers import (
    LI,
    SUPERVISOR,
    approve,
    create_target,
    goals_app,
    record,
    register_account,
    register_team,
    sale,
)
from tests.support import running


async def _events(app, event_type: str) -> list[dict]:
    async with app.state.db.transaction() as session:
        rows = await session.scalars(select(platform.outbox.c.payload).order_by(platform.outbox.c.seq))
        return [e for e in (json.loads(p) for p in rows) if e["type"] == event_type]


def test_the_goals_jobs_include_the_action_item_reminders():
    assert [job.name for job in JOBS] == ["retrack-targets", "action-item-reminders", "project-part-reminders"]


async def test_the_jobs_publish_missed_due_and_overdue_once_across_runs_and_restarts(sqlite_database):
    url = await sqlite_database("goals")
    app, clock = goals_app(url, now=datetime(2026, 6, 25, 2, 0, tzinfo=UTC))  # 2026-06-25 in Shanghai
    async with running(app) as client:
        await register_team(app)
        account_id = await register_account(app, name="三一重工", owner_id="am-li")
        target = await create_target(
            client, account_id=account_id, metric="revenue", period="2026-Q2", target_value="500000"
        )
        await approve(client, target["id"])
        await record(client, sale(account_id, "2026-04-15", "200000"))
        for title, due in (("季度复盘", "2026-06-27"), ("高层拜访", "2026-06-30")):
            created = await client.post(
                f"/goals/targets/{target['id']}/actions",
                json={"title": title, "owner_id": "am-li", "due_date": due},
                headers=LI,
            )
            assert created.status_code == 201, created.text
        for _ in range(2):
            await action_item_reminders(app)
            await retrack_targets(app)
        assert [e["data"]["title"] for e in await _events(app, "goals.action_item_due")] == ["季度复盘"]
        assert await _events(app, "goals.target_missed") == []

        clock.set(datetime(2026, 7, 1, 2, 0, tzinfo=UTC))  # Q2 is over; both items are past due
        for _ in range(2):
            await action_item_reminders(app)
            await retrack_targets(app)
        shown = (await client.get(f"/goals/targets/{target['id']}", headers=SUPERVISOR)).json()
        assert (shown["missed"], shown["achieved"]) == (True, False)

    restarted, _ = goals_app(url, now=datetime(2026, 7, 2, 2, 0, tzinfo=UTC))
    async with running(restarted):
        await action_item_reminders(restarted)
        await retrack_targets(restarted)
        assert [e["data"]["title"] for e in await _events(restarted, "goals.action_item_due")] == ["季度复盘"]
        overdue = await _events(restarted, "goals.action_item_overdue")
        assert sorted((e["data"]["title"], e["data"]["due_on"]) for e in overdue) == [
            ("季度复盘", "2026-06-27"),
            ("高层拜访", "2026-06-30"),
        ]
        [missed] = await _events(restarted, "goals.target_missed")
        assert (missed["account_id"], missed["data"]["target_id"], missed["data"]["period"]) == (
            account_id,
            target["id"],
            "2026-Q2",
        )
        assert Decimal(missed["data"]["actual"]) == Decimal(200000)
