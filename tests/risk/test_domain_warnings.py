"""Early-warning domain on a real SQLite session, no HTTP: signals → alerts, the alert lifecycle, contingency
plans, industry policies and revenue signals."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.risk.warnings import policies, revenue, service
from services.risk.warnings.early_warning import ALERT_TRANSITIONS, check_alert_transition
from services.risk.warnings.models import ActionItem, Alert, RiskSignal
from services.risk.warnings.schemas import AlertTransition, PolicyCreate
from services.risk.warnings.service import ACTION_ITEM_TRANSITIONS
from shared.errors import InvalidTransition
from tests.risk.support import START, TODAY, Domain, actor, published, put_account

OFFICER = actor("risk-chen")
ZHANG = actor("am-zhang", "account_manager")
ALERT_STATUSES = ("raised", "acknowledged", "mitigating", "cleared")


async def _financial(session, domain: Domain, account_id: str, value: int, ref: str, *, now=START):
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


async def _move(session, domain: Domain, alert: Alert, status: str, note: str | None = None) -> Alert:
    return await service.transition_alert(
        session,
        alert=alert,
        body=AlertTransition(status=status, note=note or "handled"),
        actor=ZHANG,
        publisher=domain.publisher,
        now=START,
    )


async def test_a_signal_raises_an_alert_with_its_plan_and_clearing_it_lets_the_next_signal_raise_a_new_one(domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "联想", owner_id="am-zhang")
        signal, [alert] = await _financial(session, domain, account_id, 3, "report-1")
        assert (alert.rule_code, alert.level, alert.status, alert.last_signal_id) == (
            "FINANCIAL_DETERIORATION",
            "orange",
            "raised",
            signal.id,
        )
        items = await service.action_items_of(session, alert_id=alert.id)
        assert [(i.owner_id, i.owner_role, i.due_at - START) for i in items] == [
            (None, "risk_officer", timedelta(days=3)),
            ("am-zhang", None, timedelta(days=7)),
        ]
        for status in ("acknowledged", "mitigating", "cleared"):
            await _move(session, domain, alert, status, note="已处理")
        assert (alert.status, alert.open_key, alert.updated_by, alert.cleared_at) == (
            "cleared",
            None,
            "am-zhang",
            START,
        )
        [cleared] = await published(session, "risk.alert_cleared")
        assert cleared["data"]["alert_id"] == alert.id

        _, [fresh] = await _financial(session, domain, account_id, 2, "report-2")
        assert fresh.id != alert.id
        assert [e["data"]["alert_id"] for e in await published(session, "risk.alert_raised")] == [alert.id, fresh.id]


async def test_repeats_are_no_ops_lower_levels_fold_in_and_higher_levels_escalate_the_one_open_alert(domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "小米")
        _, [alert] = await _financial(session, domain, account_id, 3, "a")
        repeat, nothing = await _financial(session, domain, account_id, 3, "a")
        assert (repeat.id, repeat.source, nothing) == ((await _one_signal(session)).id, "manual", [])
        assert (await _financial(session, domain, account_id, 2, "b"))[1] == []  # yellow folds into orange
        _, [escalated] = await _financial(session, domain, account_id, 4, "c")
        assert (escalated.id, escalated.level, escalated.signal_count, escalated.version) == (alert.id, "red", 3, 2)
        assert [e["data"]["level"] for e in await published(session, "risk.alert_raised")] == ["orange", "red"]
        assert len(await service.action_items_of(session, alert_id=alert.id)) == 2  # the plan is made once


async def _one_signal(session) -> RiskSignal:
    return (await session.execute(select(RiskSignal))).scalar_one()


def test_the_alert_lifecycle_is_exactly_this():
    expected = {
        "raised": ("acknowledged", "cleared"),
        "acknowledged": ("mitigating", "cleared"),
        "mitigating": ("cleared",),
        "cleared": (),
    }
    assert expected == ALERT_TRANSITIONS
    for current in ALERT_STATUSES:
        for target in ALERT_STATUSES:
            if target in expected[current]:
                check_alert_transition(current, target)
            else:
                with pytest.raises(InvalidTransition) as refused:
                    check_alert_transition(current, target)
                assert refused.value.extra == {"current": current, "allowed": list(expected[current])}


@pytest.mark.parametrize("current", ALERT_STATUSES)
@pytest.mark.parametrize("target", ["acknowledged", "mitigating", "cleared"])
async def test_every_alert_move_is_accepted_only_from_where_the_lifecycle_allows(domain, current, target):
    allowed = {
        "raised": {"acknowledged", "cleared"},
        "acknowledged": {"mitigating", "cleared"},
        "mitigating": {"cleared"},
        "cleared": set(),
    }
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "TCL")
        _, [alert] = await _financial(session, domain, account_id, 4, "x")
        alert.status = current
        if target in allowed[current]:
            assert (await _move(session, domain, alert, target)).status == target
        else:
            with pytest.raises(InvalidTransition):
                await _move(session, domain, alert, target)
            assert (alert.status, alert.version) == (current, 1)


def test_the_action_item_lifecycle_is_exactly_this():
    assert {"open": ("done",), "done": ()} == ACTION_ITEM_TRANSITIONS


async def test_completing_a_plan_step_moves_it_once_and_a_repeat_changes_nothing(domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "万科")
        _, [alert] = await _financial(session, domain, account_id, 4, "x")
        item: ActionItem = (await service.action_items_of(session, alert_id=alert.id))[0]
        assert item.status == "open"
        await service.complete_action_item(session, item=item, actor=OFFICER, now=START)
        assert (item.status, item.done_by, item.done_at) == ("done", "risk-chen", START)
        later = START + timedelta(hours=1)
        await service.complete_action_item(session, item=item, actor=ZHANG, now=later)
        assert (item.status, item.done_by, item.done_at) == ("done", "risk-chen", START)


async def test_an_industry_policy_signals_every_active_account_of_the_industry_and_later_joiners(domain):
    async with domain.db.transaction() as session:
        steel = [await put_account(session, f"钢铁{i}", industry="钢铁") for i in range(2)]
        software = await put_account(session, "软件", industry="软件")
        body = PolicyCreate(industry=" 钢铁 ", title="粗钢产量压减", impact=5)
        policy, affected = await policies.create_industry_policy(
            session, body=body, actor=OFFICER, publisher=domain.publisher, now=START, today=TODAY
        )
        assert (policy.industry, policy.created_by, affected) == ("钢铁", "risk-chen", 2)
        late = await put_account(session, "新钢铁", industry="钢铁")
        for _ in range(2):  # a re-delivered snapshot changes nothing
            await policies.apply_industry_policies(
                session, account_id=late, industry="钢铁", publisher=domain.publisher, now=START, today=TODAY
            )
        alerts = (await session.execute(select(Alert.account_id, Alert.level))).all()
        assert sorted(alerts) == sorted((a, "red") for a in [*steel, late])
        assert software not in {a for a, _ in alerts}


async def test_last_months_revenue_drop_is_a_signal_and_older_or_running_months_are_not(domain):
    async with domain.db.transaction() as session:  # START is 2026-03-15: last month is February
        account_id = await put_account(session, "海康威视")
        for period, amount in (("2025-11", "300000"), ("2025-12", "100000"), ("2026-03", "1"), ("2026-01", "100000")):
            await revenue.record_monthly_revenue(
                session,
                account_id=account_id,
                period=period,
                revenue=Decimal(amount),
                currency="CNY",
                publisher=domain.publisher,
                now=START,
                today=TODAY,
            )
        assert (await session.execute(select(RiskSignal))).first() is None
        await revenue.record_monthly_revenue(
            session,
            account_id=account_id,
            period="2026-02",
            revenue=Decimal("40000"),
            currency="CNY",
            publisher=domain.publisher,
            now=START,
            today=TODAY,
        )
        signal = await _one_signal(session)
        assert (signal.signal_type, signal.value, signal.source, signal.source_ref) == (
            "sales_drop",
            Decimal("60.0000"),
            "event",
            "sales:2026-02",
        )
        [raised] = await published(session, "risk.alert_raised")
        assert (raised["data"]["rule_code"], raised["data"]["level"]) == ("SALES_DROP", "red")


async def test_revenue_in_other_currencies_counts_at_its_month_end_rate_and_never_raw(domain):
    from services.risk.fx import service as fx
    from services.risk.fx.schemas import FxRateRow

    async with domain.db.transaction() as session:
        dollars = await put_account(session, "美元客户")
        yuan = await put_account(session, "人民币客户")
        for account_id, currency in ((dollars, "USD"), (yuan, "CNY")):
            await revenue.record_monthly_revenue(
                session,
                account_id=account_id,
                period="2026-02",
                revenue=Decimal("100000"),
                currency=currency,
                publisher=domain.publisher,
                now=START,
                today=TODAY,
            )
        # No USD rate: a share would add dollars to yuan, so nothing is concluded.
        assert await revenue.refresh_concentration(session, publisher=domain.publisher, now=START, today=TODAY) == 0
        rate = FxRateRow(currency="USD", valid_on=date(2026, 2, 28), rate=Decimal("7"))
        await fx.set_rate(session, row=rate, actor=OFFICER, publisher=domain.publisher, now=START)
        assert await revenue.refresh_concentration(session, publisher=domain.publisher, now=START, today=TODAY) == 2
        signal = await _one_signal(session)
        # 700 000 of 800 000 yuan: 87.5 % of our revenue.
        assert (signal.account_id, signal.value, signal.details["currency"]) == (dollars, Decimal("87.5000"), "CNY")
