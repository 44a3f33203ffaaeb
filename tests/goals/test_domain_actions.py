"""Domain tier, action plans: the status machine, an item's life, overdue items and completion (no HTTP)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from itertools import product

import pytest

from services.goals.actions import service
from services.goals.actions.schemas import ActionItemCreate, ActionItemUpdate
from services.goals.targets.schemas import TargetCreate
from services.goals.targets.service import create_target
from shared.api import PageParams
from shared.errors import InvalidTransition, Unprocessable
from tests.goals.domain import LI, SUPERVISOR, ZHANG, goals_domain

# The action-item status machine, restated (docs/goals.md "Action plans").
ACTION_MOVES = {
    "open": {"in_progress", "done", "cancelled"},
    "in_progress": {"open", "done", "cancelled"},
    "done": {"in_progress"},
    "cancelled": {"open"},
}


def step(title: str, due: str, status: str = "open", owner: str = "am-li") -> ActionItemCreate:
    return ActionItemCreate.model_validate({"title": title, "owner_id": owner, "due_date": due, "status": status})


async def _target(goals, account_id: str):
    async with goals.session() as session:
        body = TargetCreate(account_id=account_id, metric="revenue", period="2026", target_value=D(1000))
        return await create_target(session, body=body, actor=SUPERVISOR, settings=goals.settings, now=goals.now)


async def test_every_listed_status_move_is_accepted_and_every_other_refused(sqlite_database):
    assert {s: set(t) for s, t in service.ACTION_TRANSITIONS.items()} == ACTION_MOVES
    async with goals_domain(await sqlite_database("goals")) as goals:
        target = await _target(goals, await goals.add_account("a-1"))
        for current, to in product(ACTION_MOVES, repeat=2):
            if current == to:
                continue
            async with goals.session() as session:
                item = await service.create_action_item(
                    session, target=target, body=step(f"{current}→{to}", "2026-09-01", current), now=goals.now
                )
                move = ActionItemUpdate.model_validate({"status": to})
                if to in ACTION_MOVES[current]:
                    moved = await service.update_action_item(session, item=item, body=move, now=goals.now)
                    assert moved.status == to
                    assert (moved.completed_at is not None) == (to == "done")
                else:
                    with pytest.raises(InvalidTransition) as refused:
                        await service.update_action_item(session, item=item, body=move, now=goals.now)
                    assert refused.value.extra["current"] == current
                    assert set(refused.value.extra["allowed"]) == ACTION_MOVES[current]
                    assert item.status == current


async def test_an_item_lives_open_in_progress_done_and_back_and_counts_toward_completion(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:  # today 2026-07-01
        target = await _target(goals, await goals.add_account("a-1"))
        async with goals.session() as session:
            item = await service.create_action_item(
                session, target=target, body=step("高层拜访", "2026-06-15"), now=goals.now
            )
            assert (item.linked_metric, item.version, item.account_id) == ("revenue", 1, "a-1")
            assert service.is_overdue(item, goals.now.date())
            for status in ("in_progress", "done"):
                item = await service.update_action_item(
                    session, item=item, body=ActionItemUpdate.model_validate({"status": status}), now=goals.now
                )
            assert item.completed_at == goals.now and not service.is_overdue(item, goals.now.date())
            item = await service.update_action_item(
                session, item=item, body=ActionItemUpdate.model_validate({"status": "in_progress"}), now=goals.now
            )
            assert item.completed_at is None and item.version == 4
            with pytest.raises(Unprocessable):
                await service.update_action_item(
                    session, item=item, body=ActionItemUpdate.model_validate({"title": None}), now=goals.now
                )
            await service.create_action_item(
                session, target=target, body=step("方案", "2026-08-01", "done"), now=goals.now
            )
            await service.create_action_item(
                session, target=target, body=step("取消", "2026-05-01", "cancelled"), now=goals.now
            )
            plan = await service.target_action_items(session, target=target)
            assert [i.title for i in plan] == ["取消", "高层拜访", "方案"]  # by due date
            assert service.completion_pct([i.status for i in plan]) == D("50.00")  # 1 done of 2 not cancelled


async def test_the_overdue_list_shows_open_items_past_due_on_accounts_the_actor_sees(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:
        mine = await _target(goals, await goals.add_account("a-li", owner_id="am-li"))
        theirs = await _target(goals, await goals.add_account("a-zhang", owner_id="am-zhang"))
        async with goals.session() as session:
            for target, owner in ((mine, "am-li"), (theirs, "am-zhang")):  # owners who can see the account
                await service.create_action_item(
                    session, target=target, body=step("逾期", "2026-06-30", owner=owner), now=goals.now
                )
                await service.create_action_item(
                    session, target=target, body=step("未到期", "2026-07-01", owner=owner), now=goals.now
                )
                await service.create_action_item(
                    session, target=target, body=step("已完成", "2026-06-01", "done", owner), now=goals.now
                )
            today = date(2026, 7, 1)
            page = PageParams()
            items, total = await service.list_action_items(session, actor=LI, today=today, page=page, overdue=True)
            assert total == 1 and [(i.title, i.account_id) for i in items] == [("逾期", "a-li")]
            _, everyone = await service.list_action_items(
                session, actor=SUPERVISOR, today=today, page=page, overdue=True
            )
            assert everyone == 2
            _, zhangs = await service.list_action_items(session, actor=ZHANG, today=today, page=page)
            assert zhangs == 3
