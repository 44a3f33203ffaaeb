"""Domain tier, targets: the status machine, decomposition that adds up, approval, access (no HTTP)."""

from __future__ import annotations

from decimal import Decimal as D
from itertools import product

import pytest
from pydantic import ValidationError

from services.goals.targets import service
from services.goals.targets.schemas import SplitRequest, TargetBatch, TargetCreate, TargetFilters, TargetUpdate
from services.goals.targets.split import split_target
from services.goals.targets.tree import parts_of
from shared.api import PageParams
from shared.errors import Forbidden, InvalidTransition, NotFound, Unprocessable
from tests.goals.domain import LI, SUPERVISOR, ZHANG, goals_domain

# The target status machine, restated: a draft is approved (or deleted); an approved target may be cancelled;
# nothing leaves cancelled.
TARGET_MOVES = {
    "draft": {"approved"},
    "approved": {"cancelled"},
    "cancelled": set(),
}


def revenue(account_id: str, value: str, period: str = "2026", **kw) -> TargetCreate:
    return TargetCreate(account_id=account_id, metric="revenue", period=period, target_value=D(value), **kw)


async def test_the_target_status_machine_is_exactly_draft_approved_cancelled(sqlite_database):
    assert {s: set(t) for s, t in service.TARGET_TRANSITIONS.items()} == TARGET_MOVES
    async with goals_domain(await sqlite_database("goals")) as goals:
        account = await goals.add_account("a-1")
        for month, (current, to) in enumerate(product(TARGET_MOVES, repeat=2), start=1):
            async with goals.session() as session:
                body = revenue(account, "100", period=f"2026-{month:02d}")  # one live target per period
                target = await service.create_target(
                    session, body=body, actor=SUPERVISOR, settings=goals.settings, now=goals.now
                )
                target.status = current
                if to in TARGET_MOVES[current]:
                    service.check_target_transition(target, to)
                else:
                    with pytest.raises(InvalidTransition) as refused:
                        service.check_target_transition(target, to)
                    assert refused.value.extra == {"current": current, "allowed": sorted(TARGET_MOVES[current])}
        # Through the domain function: approving a draft is accepted, approving an approved target is refused.
        async with goals.session() as session:
            target = await service.create_target(
                session, body=revenue(account, "100"), actor=SUPERVISOR, settings=goals.settings, now=goals.now
            )
            approve = {"actor": SUPERVISOR, "settings": goals.settings, "publisher": goals.publisher, "now": goals.now}
            assert (await service.approve_target(session, target=target, **approve)).status == "approved"
            with pytest.raises(InvalidTransition):
                await service.approve_target(session, target=target, **approve)
    # No change of a target moves its status back: ``status`` is not a field a change may carry.
    with pytest.raises(ValidationError):
        TargetUpdate.model_validate({"status": "draft"})


async def test_a_decomposed_target_adds_up_to_the_cent_and_a_manual_gap_is_named(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:
        account = await goals.add_account("a-1")
        split = {"actor": SUPERVISOR, "settings": goals.settings, "now": goals.now}
        async with goals.session() as session:
            year = await service.create_target(session, body=revenue(account, "1000000.01"), **split)
            quarters = await split_target(session, target=year, body=SplitRequest(into="quarters"), **split)
            assert [q.period for q in quarters] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
            assert sum(q.target_value for q in quarters) == D("1000000.01")
            seasonal = SplitRequest(into="months", method="seasonal", template="industrial")
            months = await split_target(session, target=year, body=seasonal, **split)  # replaces the quarters
            assert len(months) == 12 and sum(m.target_value for m in months) == D("1000000.01")
            rollup = await service.rollup(session, target=year, settings=goals.settings, today=goals.now.date())
            assert rollup.consistent and len(rollup.children) == 12
            assert year.split_by == "period" and year.split_method == "seasonal"

            q1 = await service.create_target(session, body=revenue(account, "300", period="2026-Q1"), **split)
            bad = SplitRequest(
                into="months", method="manual", parts={"2026-01": D(90), "2026-02": D(60), "2026-03": D(100)}
            )
            with pytest.raises(Unprocessable) as gap:
                await split_target(session, target=q1, body=bad, **split)
            assert gap.value.extra["gap"] == "50.00" and gap.value.extra["field"] == "parts"


async def test_a_part_keeps_the_parts_adding_up_and_a_split_targets_new_value_is_redistributed(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:
        account = await goals.add_account("a-1")
        ctx = {"actor": SUPERVISOR, "settings": goals.settings, "now": goals.now}
        async with goals.session() as session:
            q1 = await service.create_target(session, body=revenue(account, "300", period="2026-Q1"), **ctx)
            parts = {"2026-01": D(90), "2026-02": D(60), "2026-03": D(150)}
            jan, *_ = await split_target(
                session, target=q1, body=SplitRequest(into="months", method="manual", parts=parts), **ctx
            )
            change = {**ctx, "publisher": goals.publisher}
            with pytest.raises(Unprocessable) as gap:
                await service.update_target(session, target=jan, body=TargetUpdate(target_value=D(95)), **change)
            assert gap.value.extra["gap"] == "-5.00"
            # A new value of the split target is carried down in the parts' current proportions (90:60:150).
            await service.update_target(session, target=q1, body=TargetUpdate(target_value=D(400)), **change)
            assert [p.target_value for p in await parts_of(session, q1.id)] == [D(120), D(80), D(200)]
            noted = await service.update_target(session, target=jan, body=TargetUpdate(note="一月"), **change)
            assert noted.note == "一月" and noted.version == 3  # 1, re-distributed, noted


async def test_approving_a_split_target_approves_its_parts_and_publishes_target_set_for_each(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:
        account = await goals.add_account("a-1")
        ctx = {"actor": SUPERVISOR, "settings": goals.settings, "now": goals.now}
        async with goals.session() as session:
            year = await service.create_target(session, body=revenue(account, "400"), **ctx)
            quarters = await split_target(session, target=year, body=SplitRequest(into="quarters"), **ctx)
            lines = SplitRequest(by="product_line", method="manual", parts={"工业网关": D(60), "PLC控制器": D(40)})
            await split_target(session, target=quarters[0], body=lines, **ctx)
            await service.approve_target(session, target=year, publisher=goals.publisher, **ctx)
            assert {q.status for q in quarters} == {"approved"}
            subjects = await goals.events(session)
        # The year and its four quarters; the product-line parts are not published (the contract has no line).
        assert subjects.count("kam.goals.target_set") == 5


async def test_account_managers_set_targets_only_on_their_accounts_and_only_approvers_approve(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:
        own = await goals.add_account("a-li", owner_id="am-li")
        other = await goals.add_account("a-zhang", owner_id="am-zhang")
        ctx = {"settings": goals.settings, "now": goals.now}
        async with goals.session() as session:
            with pytest.raises(NotFound):
                await service.create_target(session, body=revenue(other, "1"), actor=LI, **ctx)
            with pytest.raises(Forbidden):
                team = TargetCreate(owner_id="am-zhang", metric="revenue", period="2026", target_value=D(1))
                await service.create_target(session, body=team, actor=LI, **ctx)
            mine = await service.create_target(session, body=revenue(own, "1"), actor=LI, **ctx)
            assert mine.owner_id == "am-li" and mine.created_by == "am-li"
            with pytest.raises(Forbidden):
                await service.approve_target(session, target=mine, actor=LI, publisher=goals.publisher, **ctx)
            listed, total = await service.list_targets(session, actor=ZHANG, filters=TargetFilters(), page=PageParams())
            assert (listed, total) == ([], 0)


async def test_a_batch_names_the_bad_item_and_with_approve_is_tracked_once(sqlite_database):
    async with goals_domain(await sqlite_database("goals")) as goals:
        a = await goals.add_account("a-1")
        b = await goals.add_account("a-2")
        ctx = {"settings": goals.settings, "publisher": goals.publisher, "now": goals.now}
        batch = TargetBatch(targets=[revenue(a, "100"), revenue(b, "100", period="2026-Q5")])
        with pytest.raises(Unprocessable) as refused:
            async with goals.session() as session:
                await service.create_targets(session, body=batch, actor=SUPERVISOR, **ctx)
        assert refused.value.extra["field"] == "targets.1"
        async with goals.session() as session:
            _, total = await service.list_targets(session, actor=SUPERVISOR, filters=TargetFilters(), page=PageParams())
            assert total == 0  # all or nothing: the transaction rolled back
            approved = TargetBatch(targets=[revenue(a, "100"), revenue(b, "100")], approve=True)
            targets = await service.create_targets(session, body=approved, actor=SUPERVISOR, **ctx)
            assert [t.status for t in targets] == ["approved", "approved"]
            # No sale by mid-year: both are at risk at once, each published once.
            assert all(t.at_risk for t in targets)
            subjects = await goals.events(session)
        assert subjects.count("kam.goals.target_at_risk") == 2
