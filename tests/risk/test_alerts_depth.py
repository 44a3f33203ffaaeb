"""Alerts in depth: clearing when the cause is gone (per signal type), re-opening on a higher level with that
level's plan steps, a note to clear with open steps, contract-expiry alerts per contract, concentration as
actuals arrive, and the sales drop year on year against a seasonal baseline with a minimum amount."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.risk.contracts import service as contracts
from services.risk.contracts.compliance import CLAUSES
from services.risk.contracts.schemas import ContractCreate, ContractRenew, ContractTransition
from services.risk.warnings import revenue, service
from services.risk.warnings.early_warning import CLEARING, SIGNAL_TYPES
from services.risk.warnings.models import Alert, RiskSignal
from services.risk.warnings.schemas import AlertTransition, PlanStep, PlanTemplatePut, RulePut
from shared.errors import Unprocessable
from tests.risk.support import (
    START,
    TODAY,
    Domain,
    actor,
    add_account,
    deliver,
    make_app,
    outbox_events,
    published,
    put_account,
)
from tests.risk.test_early_warning_api import actuals
from tests.support import auth, running

OFFICER = actor("risk-chen")
LIU = actor("risk-liu")
LI = actor("am-li", "account_manager")
RISK = auth("risk_officer", user_id="risk-chen")


async def _financial(session, domain: Domain, account_id: str, value: int, ref: str):
    _, alerts = await service.record_signal(
        session,
        account_id=account_id,
        signal_type="financial_deterioration",
        value=Decimal(value),
        source="manual",
        source_ref=f"manual:{ref}",
        title=f"财务恶化 {value}",
        publisher=domain.publisher,
        now=START,
        today=TODAY,
    )
    return alerts


async def _clear(session, domain: Domain, alert: Alert, note: str | None) -> Alert:
    body = AlertTransition(status="cleared", note=note)
    return await service.transition_alert(
        session, alert=alert, body=body, actor=LI, publisher=domain.publisher, now=START
    )


def test_each_signal_type_says_how_its_alerts_clear():
    assert set(CLEARING) == set(SIGNAL_TYPES)
    assert {k: v for k, v in CLEARING.items() if k != "credit_downgrade"} == {
        "financial_deterioration": "manual",
        "industry_policy": "manual",
        "complaint_escalation": "manual",
        "sales_drop": "proposed",
        "revenue_concentration": "proposed",
        "contract_expiry": "auto",
        "receivables_overdue": "auto",
        "credit_utilisation": "auto",
    }


async def test_a_higher_level_reopens_an_acknowledged_alert_with_the_steps_of_that_level(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "比亚迪")
        steps = [
            PlanStep(title="复核财务", owner="risk_officer", due_in_days=3),
            PlanStep(title="要求担保", owner="supervisor", due_in_days=2, level="orange"),
            PlanStep(title="暂停发货", owner="supervisor", due_in_days=1, level="red"),
        ]
        await service.put_plan_template(
            session, signal_type="financial_deterioration", body=PlanTemplatePut(steps=steps), now=START, actor=OFFICER
        )
        [alert] = await _financial(session, domain, account_id, 2, "q1")  # yellow
        titles = [i.title for i in await service.action_items_of(session, alert_id=alert.id)]
        assert titles == ["复核财务"]
        await service.transition_alert(
            session,
            alert=alert,
            body=AlertTransition(status="acknowledged"),
            actor=LI,
            publisher=domain.publisher,
            now=START,
        )
        await _financial(session, domain, account_id, 4, "q2")  # red: orange and red steps both reached
        assert (alert.status, alert.level, alert.reopened_at is not None) == ("raised", "red", True)
        titles = sorted(i.title for i in await service.action_items_of(session, alert_id=alert.id))
        assert titles == sorted(["复核财务", "要求担保", "暂停发货"])
        await _financial(session, domain, account_id, 5, "q3")  # the same level again adds nothing
        assert len(await service.action_items_of(session, alert_id=alert.id)) == 3
        assigned = await published(session, "risk.action_item_assigned")
        assert len(assigned) == 3


async def test_clearing_an_alert_with_open_steps_needs_a_note(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "宁德时代")
        [alert] = await _financial(session, domain, account_id, 3, "r")
        with pytest.raises(Unprocessable) as refused:
            await _clear(session, domain, alert, None)
        assert (refused.value.status, refused.value.extra["field"]) == (422, "note")
        assert alert.status == "raised"
        for item in await service.action_items_of(session, alert_id=alert.id):
            await service.complete_action_item(session, item=item, actor=LI, now=START)
        assert (await _clear(session, domain, alert, None)).status == "cleared"


async def test_contract_expiry_alerts_are_per_contract_and_a_renewal_clears_its_own(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "京东")
        made = []
        for title, days in (("框架协议", 80), ("服务合同", 50)):
            body = ContractCreate(
                title=title,
                contract_type="service",
                start_on=date(2026, 1, 1),
                end_on=TODAY + timedelta(days=days),
                clauses=dict.fromkeys(CLAUSES, True),
            )
            contract = await contracts.create_contract(session, account_id=account_id, body=body, actor=LI, now=START)
            for status, who in (("legal_review", LI), ("approved", OFFICER)):
                await contracts.transition_contract(
                    session, contract=contract, body=ContractTransition(status=status), actor=who, now=START
                )
            made.append(contract)
        await contracts.run_expiry_reminders(session, publisher=domain.publisher, now=START, today=TODAY)
        alerts = list((await session.execute(select(Alert).where(Alert.rule_code == "CONTRACT_EXPIRY"))).scalars())
        assert sorted((a.subject_id, a.level) for a in alerts) == sorted(
            [(made[0].id, "green"), (made[1].id, "yellow")]
        )
        renew = ContractRenew(end_on=TODAY + timedelta(days=400), note="续约一年")
        await contracts.renew_contract(
            session, contract=made[0], body=renew, actor=OFFICER, publisher=domain.publisher, now=START, today=TODAY
        )
        by_subject = {a.subject_id: a for a in alerts}
        assert (by_subject[made[0].id].status, by_subject[made[1].id].status) == ("cleared", "raised")
        items = await service.action_items_of(session, alert_id=by_subject[made[0].id].id)
        assert [i.status for i in items] == ["done"] * len(items)  # its steps are closed with the reason
        [cleared] = await published(session, "risk.alert_cleared")
        assert cleared["data"]["alert_id"] == by_subject[made[0].id].id


async def _months(session, domain: Domain, account_id: str, figures: dict[str, str]) -> None:
    for period, amount in figures.items():
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


# TODAY is 2026-03-15: last month is 2026-02, compared with 2026-01, 2025-02 and 2025-01.
SALES_CASES = [
    # a seasonal dip: February is always 40 % under January — month on month −40 %, year on year 0 → nothing
    ({"2025-01": "100000", "2025-02": "60000", "2026-01": "100000", "2026-02": "60000"}, None),
    # a real fall: −50 % year on year and against the seasonal baseline → red
    ({"2025-01": "100000", "2025-02": "100000", "2026-01": "100000", "2026-02": "50000"}, ("50.0000", "red")),
    # grown 50 % over the year, then a seasonal-sized dip: the seasonal baseline explains it → nothing
    ({"2025-01": "100000", "2025-02": "60000", "2026-01": "150000", "2026-02": "90000"}, None),
    # no history a year back: month on month, as before
    ({"2026-01": "100000", "2026-02": "70000"}, ("30.0000", "yellow")),
    # a tiny month: 5 000 before (under the rule's 10 000 minimum) → nothing, however large the drop
    ({"2026-01": "5000", "2026-02": "100"}, None),
]


@pytest.mark.parametrize(("figures", "expected"), SALES_CASES)
async def test_sales_drop_is_year_on_year_against_a_seasonal_baseline_with_a_minimum(domain, figures, expected):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "美的")
        await _months(session, domain, account_id, figures)
        signals = list((await session.execute(select(RiskSignal))).scalars())
        alerts = list((await session.execute(select(Alert))).scalars())
        if expected is None:
            assert (signals, alerts) == ([], [])
        else:
            [signal], [alert] = signals, alerts
            assert (f"{signal.value:f}", alert.level) == expected


async def test_the_minimum_amount_is_configured_on_the_rule_and_a_recovered_month_proposes_clearing(domain: Domain):
    async with domain.db.transaction() as session:
        rule = await service.find_rule(session, code="SALES_DROP")
        assert rule is not None and rule.min_amount == Decimal("10000")
        body = RulePut(name=rule.name, signal_type="sales_drop", conditions=rule.conditions, min_amount=Decimal(0))
        await service.put_rule(session, code="SALES_DROP", body=body, now=START, actor=OFFICER)
        account_id = await put_account(session, "小米")
        await _months(session, domain, account_id, {"2026-01": "5000", "2026-02": "1000"})
        [alert] = list((await session.execute(select(Alert))).scalars())
        assert (alert.level, alert.clear_proposed_at) == ("red", None)
        await _months(session, domain, account_id, {"2026-02": "5200"})  # a corrected February: no drop
        # Proposed, not cleared: a person decides whether the month's figures are final.
        assert (alert.status, alert.clear_proposed_at, bool(alert.clear_reason)) == ("raised", START, True)
        assert await published(session, "risk.alert_cleared") == []


async def test_paying_the_overdue_invoice_clears_its_alert_and_closes_its_steps(make_database):
    app = make_app(await make_database("risk"))  # 2026-03-15
    async with running(app) as client:
        account_id = await add_account(app, "顺丰控股")
        invoice = await client.post(
            f"/risk/accounts/{account_id}/invoices",
            json={"number": "F-1", "amount": "800", "issued_on": "2026-01-01", "due_on": "2026-02-01"},
            headers=RISK,
        )
        assert invoice.status_code == 201, invoice.text
        [alert] = (await client.get(f"/risk/alerts?account_id={account_id}", headers=RISK)).json()["items"]
        assert (alert["rule_code"], alert["level"], alert["status"]) == ("RECEIVABLES_OVERDUE", "orange", "raised")
        half = {"amount": "300", "paid_on": "2026-03-14"}
        assert (
            await client.post(f"/risk/invoices/{invoice.json()['id']}/payments", json=half, headers=RISK)
        ).status_code == 201
        assert (await client.get(f"/risk/alerts/{alert['id']}", headers=RISK)).json()["status"] == "raised"
        rest = {"amount": "500", "paid_on": "2026-03-15"}
        paid = await client.post(f"/risk/invoices/{invoice.json()['id']}/payments", json=rest, headers=RISK)
        assert paid.status_code == 201, paid.text
        detail = (await client.get(f"/risk/alerts/{alert['id']}", headers=RISK)).json()
        assert (detail["status"], detail["updated_by"]) == ("cleared", "system")
        assert {i["status"] for i in detail["action_items"]} == {"done"}
        cleared = [e["data"]["alert_id"] for e in await outbox_events(app, "risk.alert_cleared")]
        assert cleared == [alert["id"]]


async def test_concentration_is_evaluated_as_actuals_arrive_without_the_watch(make_database):
    app = make_app(await make_database("risk"))  # 2026-03-15
    async with running(app) as client:
        big, small = await add_account(app, "大客户"), await add_account(app, "小客户")
        await deliver(app, actuals(big, "2026-02", "800000"), actuals(small, "2026-02", "200000"))
        alerts = (await client.get("/risk/alerts?rule_code=REVENUE_CONCENTRATION", headers=RISK)).json()["items"]
        assert [(a["account_id"], a["level"], a["clear_proposed_at"]) for a in alerts] == [(big, "red", None)]
        # The small account's year grows to 1.8 M: the big one's share falls to 30.77 % — still yellow, not cleared…
        await deliver(app, actuals(small, "2025-12", "1600000"))
        still = (await client.get(f"/risk/alerts/{alerts[0]['id']}", headers=RISK)).json()
        assert still["clear_proposed_at"] is None
        # …and then 3.8 M: 17.39 %, under every threshold — proposed for clearing.
        await deliver(app, actuals(small, "2025-11", "2000000"))
        url = f"/risk/alerts?rule_code=REVENUE_CONCENTRATION&account_id={big}"
        [alert] = (await client.get(url, headers=RISK)).json()["items"]
        assert (alert["level"], alert["status"], alert["clear_proposed_at"] is not None) == ("red", "raised", True)
