"""The events risk publishes for the notifications service, on a real SQLite session (no HTTP): an alert's higher
level, plan steps assigned (instantiated, reassigned, handed over) and overdue, limit requests awaiting a
checker, contract expiry stages — each once per occurrence, never again on a repeat."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.risk.contracts import service as contracts
from services.risk.contracts.compliance import CLAUSES
from services.risk.contracts.schemas import ContractCreate, ContractTransition
from services.risk.credit import service as credit
from services.risk.credit.schemas import LimitRequestCreate
from services.risk.warnings import service
from services.risk.warnings.models import ActionItem, Alert
from services.risk.warnings.schemas import ActionItemUpdate
from services.risk.warnings.watch import run_risk_watch
from shared.projection import upsert_account
from tests.risk.support import START, TODAY, Domain, actor, published, put_account
from tests.risk.support import platform as tables

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICER = actor("risk-chen")
LI = actor("am-li", "account_manager")


async def _financial(session, domain: Domain, account_id: str, value: int, ref: str, *, now: datetime = START):
    return await service.record_signal(
        session,
        account_id=account_id,
        signal_type="financial_deterioration",
        value=Decimal(value),
        source="manual",
        source_ref=f"manual:{ref}",
        title=f"财务恶化 {value}",
        publisher=domain.publisher,
        now=now,
        today=TODAY,
    )


async def _items(session, alert: Alert) -> list[ActionItem]:
    return await service.action_items_of(session, alert_id=alert.id)


async def test_an_escalation_publishes_alert_level_raised_once_with_the_previous_level(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "比亚迪")
        _, [alert] = await _financial(session, domain, account_id, 3, "q1")  # orange
        assert await published(session, "risk.alert_level_raised") == []  # a new alert is not a level move
        await _financial(session, domain, account_id, 2, "q2")  # yellow folds into orange
        await _financial(session, domain, account_id, 3, "q3")  # the same level: nothing new
        _, [escalated] = await _financial(session, domain, account_id, 4, "q4")  # red
        await _financial(session, domain, account_id, 4, "q4")  # a repeat of the same fact
        await _financial(session, domain, account_id, 4, "q5")  # red again: no further move
        [event] = await published(session, "risk.alert_level_raised")
        assert escalated.id == alert.id
        assert event["account_id"] == account_id
        assert event["source"] == "risk"
        assert event["data"] == {
            "alert_id": alert.id,
            "rule_code": "FINANCIAL_DETERIORATION",
            "level": "red",
            "previous_level": "orange",
            "signal_type": "financial_deterioration",
            "title": "财务状况恶化 Financial deterioration: 财务恶化 4",
        }
        # The existing announcement of the new level stays.
        assert [e["data"]["level"] for e in await published(session, "risk.alert_raised")] == ["orange", "red"]


async def test_a_new_alert_assigns_each_plan_step_once_after_announcing_the_alert(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "联想", owner_id="am-zhang")
        _, [alert] = await _financial(session, domain, account_id, 3, "r1")
        first, second = await _items(session, alert)
        assigned = await published(session, "risk.action_item_assigned")
        assert [(e["account_id"], e["data"]) for e in assigned] == [
            (
                account_id,
                {
                    "item_id": first.id,
                    "alert_id": alert.id,
                    "title": first.title,
                    "owner_id": None,
                    "owner_role": "risk_officer",
                    "due_on": "2026-03-18",  # 3 days after the business date of START
                },
            ),
            (
                account_id,
                {
                    "item_id": second.id,
                    "alert_id": alert.id,
                    "title": second.title,
                    "owner_id": "am-zhang",
                    "owner_role": None,
                    "due_on": "2026-03-22",
                },
            ),
        ]
        kinds = [e["type"] for e in await published(session)]
        assert kinds.index("risk.alert_raised") < kinds.index("risk.action_item_assigned")
        await _financial(session, domain, account_id, 4, "r2")  # an escalation makes no new plan
        assert len(await published(session, "risk.action_item_assigned")) == 2


async def test_reassigning_a_plan_step_publishes_assigned_only_when_the_person_or_queue_changes(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "美的", owner_id="am-li")
        _, [alert] = await _financial(session, domain, account_id, 3, "s1")
        item = (await _items(session, alert))[0]  # the risk officers' queue

        async def update(**body) -> list[dict]:
            await service.update_action_item(
                session,
                item=item,
                body=ActionItemUpdate(**body),
                publisher=domain.publisher,
                now=START,
                zone=SHANGHAI,
            )
            return (await published(session, "risk.action_item_assigned"))[2:]  # after the two of the plan

        [to_liu] = await update(owner_id="risk-liu")
        assert to_liu["account_id"] == account_id
        assert to_liu["data"] == {
            "item_id": item.id,
            "alert_id": alert.id,
            "title": item.title,
            "owner_id": "risk-liu",
            "owner_role": None,
            "due_on": "2026-03-18",
        }
        assert len(await update(owner_id="risk-liu")) == 1  # the same person again: nothing new
        # Moving the due time alone is no assignment; the business date of 2026-03-20 23:30 UTC is the 21st.
        assert len(await update(due_at=datetime(2026, 3, 20, 23, 30, tzinfo=UTC))) == 1
        [_, to_queue] = await update(owner_role="supervisor")
        assert (to_queue["data"]["owner_id"], to_queue["data"]["owner_role"], to_queue["data"]["due_on"]) == (
            None,
            "supervisor",
            "2026-03-21",
        )


async def test_the_watch_announces_an_open_step_overdue_once_and_a_moved_due_time_rearms_it(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "格力", owner_id="am-li")
        _, [alert] = await _financial(session, domain, account_id, 3, "t1")
        officer_step, owner_step = await _items(session, alert)  # due in 3 and 7 days

    async def watch(now: datetime) -> tuple[int, list[dict]]:
        async with domain.db.transaction() as session:
            counts = await run_risk_watch(session, publisher=domain.publisher, now=now, zone=SHANGHAI)
            return counts["action_items_overdue"], await published(session, "risk.action_item_overdue")

    assert await watch(START + timedelta(days=3)) == (0, [])  # due exactly now: not past yet
    after_three = START + timedelta(days=3, minutes=1)
    count, [overdue] = await watch(after_three)
    assert count == 1
    assert overdue["account_id"] == account_id
    assert overdue["data"] == {
        "item_id": officer_step.id,
        "alert_id": alert.id,
        "title": officer_step.title,
        "owner_id": None,
        "owner_role": "risk_officer",
        "due_on": "2026-03-18",
    }
    assert (await watch(after_three))[0] == 0  # a second run publishes nothing
    assert (await watch(after_three + timedelta(hours=5)))[0] == 0  # nor does a later one
    async with domain.db.transaction() as session:
        item = await session.get(ActionItem, officer_step.id)
        assert item is not None and item.overdue_notified_at == after_three
        await service.complete_action_item(
            session, item=await session.get(ActionItem, owner_step.id), actor=LI, now=START
        )
        # Given more time: once that passes too, it is announced again (a new due time, a new occurrence).
        await service.update_action_item(
            session,
            item=item,
            body=ActionItemUpdate(due_at=after_three + timedelta(days=1)),
            publisher=domain.publisher,
            now=after_three,
            zone=SHANGHAI,
        )
        assert item.overdue_notified_at is None
    count, events = await watch(after_three + timedelta(days=8))  # the done step is never overdue
    assert (count, [e["data"]["item_id"] for e in events]) == (1, [officer_step.id, officer_step.id])
    assert events[-1]["data"]["due_on"] == "2026-03-19"


async def test_a_handover_publishes_assigned_for_each_open_step_that_follows_the_new_owner(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "海尔", owner_id="am-li")
        _, [alert] = await _financial(session, domain, account_id, 3, "u1")
        _, owner_step = await _items(session, alert)
        before = len(await published(session, "risk.action_item_assigned"))
        await upsert_account(session, tables, account_id=account_id, name="海尔", owner_id="am-zhang")
        moved = await service.hand_over_account(
            session,
            account_id=account_id,
            old_owner_id="am-li",
            new_owner_id="am-zhang",
            publisher=domain.publisher,
            zone=SHANGHAI,
        )
        assert moved == 1
        [handed] = (await published(session, "risk.action_item_assigned"))[before:]
        assert (handed["data"]["item_id"], handed["data"]["owner_id"], handed["data"]["due_on"]) == (
            owner_step.id,
            "am-zhang",
            "2026-03-22",
        )


async def test_a_limit_request_publishes_limit_request_submitted_with_the_maker_as_requested_by(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "宁德时代")
        body = LimitRequestCreate(requested_limit=Decimal("2500000.50"), reason="扩产 expansion", checker_id="risk-liu")
        request = await credit.request_limit_change(
            session, account_id=account_id, body=body, actor=OFFICER, publisher=domain.publisher, now=START, today=TODAY
        )
        [event] = await published(session, "risk.limit_request_submitted")
        assert event["account_id"] == account_id
        data = event["data"]
        assert Decimal(data.pop("requested_limit")) == Decimal("2500000.50")
        assert data == {
            "request_id": request.id,
            "requested_by": "risk-chen",  # the maker
            "currency": "CNY",
            "checker_role": "risk_officer",
            "checker_id": "risk-liu",  # the named checker: only they are asked
        }
        assert request.requested_by == "risk-chen"


async def test_each_contract_reminder_stage_publishes_contract_expiring_once(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "京东", owner_id="am-zhang")
        end = TODAY + timedelta(days=90)
        body = ContractCreate(
            title="年度框架协议",
            contract_type="framework",
            start_on=date(2026, 1, 1),
            end_on=end,
            clauses=dict.fromkeys(CLAUSES, True),
        )
        contract = await contracts.create_contract(session, account_id=account_id, body=body, actor=LI, now=START)
        for status in ("legal_review", "approved"):
            await contracts.transition_contract(
                session, contract=contract, body=ContractTransition(status=status), actor=OFFICER, now=START
            )

        async def remind(days: int) -> None:
            later = START + timedelta(days=days)
            await contracts.run_expiry_reminders(
                session, publisher=domain.publisher, now=later, today=TODAY + timedelta(days=days)
            )

        for days in (0, 0, 1, 31, 31, 45, 61, 61):  # a job that runs late sends the current stage only
            await remind(days)
        events = await published(session, "risk.contract_expiring")
        assert [e["account_id"] for e in events] == [account_id] * 3
        assert [e["data"] for e in events] == [
            {
                "contract_id": contract.id,
                "title": "年度框架协议",
                "expires_on": end.isoformat(),
                "days_left": days_left,
                "stage": stage,
                "owner_id": "am-zhang",
            }
            for stage, days_left in ((90, 90), (60, 59), (30, 29))
        ]
