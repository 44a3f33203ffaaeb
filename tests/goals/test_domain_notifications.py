"""Domain tier, the events goals publishes for the notifications service: a target's period ending unachieved
(``goals.target_missed``) and open action items coming due and passing their due date — each once per
occurrence, never again on a repeated run (business dates in the company's zone, Asia/Shanghai)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from sqlalchemy import select

from services.goals.actions import service as actions
from services.goals.actions.schemas import ActionItemCreate, ActionItemUpdate
from services.goals.actuals.schemas import ActualsIn
from services.goals.actuals.service import record_actuals
from services.goals.models import platform
from services.goals.targets.schemas import TargetCreate
from services.goals.targets.service import approve_target, create_target, read_target
from services.goals.targets.tracking import retrack_recent_targets
from shared.clock import business_date
from tests.goals.domain import SUPERVISOR, Goals, goals_domain

# 2026-06-30 23:30 in Shanghai (Q2's last day) and, an hour later, 2026-07-01 00:30 there (Q2 is over).
LAST_EVENING = datetime(2026, 6, 30, 15, 30, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 6, 30, 16, 30, tzinfo=UTC)


async def outbox(goals: Goals, event_type: str) -> list[dict[str, Any]]:
    """Events of one type in the goals outbox, oldest first."""
    async with goals.session() as session:
        rows = await session.scalars(select(platform.outbox.c.payload).order_by(platform.outbox.c.seq))
        return [e for e in (json.loads(p) for p in rows) if e["type"] == event_type]


async def _approved(goals: Goals, account_id: str, value: str, **kw: Any):
    body = TargetCreate(account_id=account_id, metric="revenue", period="2026-Q2", target_value=D(value), **kw)
    async with goals.session() as session:
        target = await create_target(session, body=body, actor=SUPERVISOR, settings=goals.settings, now=goals.now)
        return await approve_target(
            session, target=target, actor=SUPERVISOR, settings=goals.settings, publisher=goals.publisher, now=goals.now
        )


async def _sell(goals: Goals, account_id: str, day: str, revenue: str) -> None:
    line = {"account_id": account_id, "date": day, "product_line": "工业网关", "revenue": revenue, "cost": "0"}
    async with goals.session() as session:
        await record_actuals(
            session,
            body=ActualsIn.model_validate({"records": [line]}),
            actor=SUPERVISOR,
            settings=goals.settings,
            publisher=goals.publisher,
            now=goals.now,
        )


async def _retrack(goals: Goals) -> None:
    async with goals.session() as session:
        await retrack_recent_targets(session, settings=goals.settings, publisher=goals.publisher, now=goals.now)


async def test_a_target_whose_period_ends_unachieved_publishes_target_missed_once(sqlite_database):
    async with goals_domain(await sqlite_database("goals"), now=datetime(2026, 6, 20, tzinfo=UTC)) as goals:
        short = await goals.add_account("a-short", owner_id="am-li")
        done = await goals.add_account("a-done", owner_id="am-zhang")
        missed = await _approved(goals, short, "100000", stretch_value=D("120000"))
        line_part = await _approved(goals, short, "80000", product_line="工业网关")
        achieved = await _approved(goals, done, "10000")
        await _sell(goals, short, "2026-04-10", "60000.50")
        await _sell(goals, done, "2026-05-10", "10000")
        await _retrack(goals)
        goals.clock.set(LAST_EVENING)  # 23:30 on Q2's last day in the company's zone: not over yet
        await _retrack(goals)
        assert await outbox(goals, "goals.target_missed") == []

        goals.clock.set(AFTER_MIDNIGHT)
        await _retrack(goals)
        await _retrack(goals)  # a second run publishes nothing
        goals.clock.advance(timedelta(days=1))
        await _retrack(goals)
        [event] = await outbox(goals, "goals.target_missed")
        assert (event["source"], event["account_id"]) == ("goals", short)
        data = event["data"]
        assert {k: D(data.pop(k)) for k in ("target_value", "stretch_value", "actual")} == {
            "target_value": D("100000"),
            "stretch_value": D("120000"),
            "actual": D("60000.50"),
        }
        assert data == {"target_id": missed.id, "metric": "revenue", "period": "2026-Q2", "owner_id": "am-li"}
        async with goals.session() as session:
            for target, was_missed in ((missed, True), (line_part, True), (achieved, False)):
                fresh = await session.merge(target)
                await session.refresh(fresh)
                assert (fresh.missed_at is not None) == was_missed
                read = await read_target(session, fresh, settings=goals.settings, today=date(2026, 7, 2))
                assert (read.missed, read.achieved) == (was_missed, not was_missed)
        # The one event above is the total's: the product-line part is marked missed but not announced (the event
        # contract carries totals only); the achieved target was announced achieved, never missed.
        [won] = await outbox(goals, "goals.target_achieved")
        assert won["data"]["target_id"] == achieved.id


def _item(title: str, due: date, status: str = "open") -> ActionItemCreate:
    return ActionItemCreate.model_validate({"title": title, "owner_id": "am-li", "due_date": due, "status": status})


async def _announce(goals: Goals, *, days: int = 3) -> dict[str, int]:
    async with goals.session() as session:
        return await actions.announce_action_item_dates(
            session,
            publisher=goals.publisher,
            now=goals.now,
            today=business_date(goals.now, goals.settings.zone),
            due_within_days=days,
        )


async def test_open_items_are_announced_due_within_the_window_and_overdue_once_each(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:  # today 2026-07-01
        target = await _approved(goals, await goals.add_account("a-1", owner_id="am-li"), "100000")
        today = goals.now.date()
        async with goals.session() as session:
            plan = {
                title: await actions.create_action_item(
                    session, target=target, body=_item(title, today + timedelta(days=offset), status), now=goals.now
                )
                for title, offset, status in (
                    ("今天到期", 0, "in_progress"),
                    ("三天后到期", 3, "open"),
                    ("四天后到期", 4, "open"),
                    ("昨天到期", -1, "open"),
                    ("已完成", -1, "done"),
                    ("已取消", 1, "cancelled"),
                )
            }
        assert await _announce(goals) == {"due": 2, "overdue": 1}
        assert await _announce(goals) == {"due": 0, "overdue": 0}  # a repeat sends nothing
        due = await outbox(goals, "goals.action_item_due")
        assert [e["data"]["title"] for e in due] == ["今天到期", "三天后到期"]
        assert due[0]["account_id"] == "a-1"
        assert due[0]["data"] == {
            "item_id": plan["今天到期"].id,
            "target_id": target.id,
            "title": "今天到期",
            "owner_id": "am-li",
            "due_on": "2026-07-01",
        }
        [overdue] = await outbox(goals, "goals.action_item_overdue")
        assert (overdue["data"]["item_id"], overdue["data"]["due_on"]) == (plan["昨天到期"].id, "2026-06-30")

        goals.clock.advance(timedelta(days=1))  # 2026-07-02: the four-day item enters the window, today's is late
        assert await _announce(goals) == {"due": 1, "overdue": 1}
        goals.clock.advance(timedelta(days=10))
        assert await _announce(goals) == {"due": 0, "overdue": 2}  # each item once, however late the run
        assert await _announce(goals) == {"due": 0, "overdue": 0}
        overdue_titles = [e["data"]["title"] for e in await outbox(goals, "goals.action_item_overdue")]
        assert sorted(overdue_titles) == sorted(["昨天到期", "今天到期", "三天后到期", "四天后到期"])


async def test_a_new_due_date_is_a_new_occurrence_and_a_wider_window_is_a_setting(sqlite_database):
    async with goals_domain(await sqlite_database("goals"), action_item_due_days=5) as goals:  # 2026-07-01
        assert goals.settings.action_item_due_days == 5
        target = await _approved(goals, await goals.add_account("a-1", owner_id="am-li"), "100000")
        async with goals.session() as session:
            item = await actions.create_action_item(
                session, target=target, body=_item("签约", date(2026, 7, 6)), now=goals.now
            )
        assert await _announce(goals, days=goals.settings.action_item_due_days) == {"due": 1, "overdue": 0}
        async with goals.session() as session:
            item = await session.merge(item)
            unchanged = ActionItemUpdate.model_validate({"title": "签约(改)", "due_date": "2026-07-06"})
            await actions.update_action_item(session, item=item, body=unchanged, now=goals.now)
            assert item.due_notified_at is not None  # the same date: still announced
        assert await _announce(goals, days=5) == {"due": 0, "overdue": 0}
        async with goals.session() as session:
            item = await session.merge(item)
            moved = ActionItemUpdate.model_validate({"due_date": "2026-07-04"})
            await actions.update_action_item(session, item=item, body=moved, now=goals.now)
            assert (item.due_notified_at, item.overdue_notified_at) == (None, None)
        assert await _announce(goals, days=5) == {"due": 1, "overdue": 0}
        assert [e["data"]["due_on"] for e in await outbox(goals, "goals.action_item_due")] == [
            "2026-07-06",
            "2026-07-04",
        ]
