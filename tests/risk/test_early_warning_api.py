"""Signals → early-warning alerts: industry policies, complaint escalations, sales drops, lifecycle, plans."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import nats

from services.risk.jobs import concentration_job
from shared.events import ActualsRecorded, ComplaintEscalated
from tests.risk.support import PEOPLE, add_account, deliver, make_app, outbox_events, registered
from tests.support import auth, register_users, running, wait_until

RISK = auth("risk_officer", user_id="risk-chen")


def escalated(account_id: str, complaint_id: str, level: int = 1) -> ComplaintEscalated:
    return ComplaintEscalated(
        source="complaints",
        account_id=account_id,
        data={
            "complaint_id": complaint_id,
            "level": level,
            "escalated_to": "sup-wang",
            "reason": "first_response_breach",
            "severity": "high",
            "owner_id": "am-li",
        },
    )


def actuals(account_id: str, period: str, revenue: str) -> ActualsRecorded:
    return ActualsRecorded(
        source="goals",
        account_id=account_id,
        data={"period": period, "revenue": revenue, "cost": "0", "gross_profit": revenue},
    )


async def test_one_industry_policy_raises_one_alert_per_account_of_that_industry_and_none_elsewhere(make_database):
    app = make_app(await make_database("risk"))
    async with running(app) as client:
        steel = [await add_account(app, f"钢铁客户{i}", industry="钢铁") for i in range(3)]
        other = await add_account(app, "软件客户", industry="软件")
        response = await client.post(
            "/risk/industry-policies",
            json={"industry": "钢铁", "title": "粗钢产量压减政策", "impact": 3, "effective_on": "2026-04-01"},
            headers=RISK,
        )
        assert response.status_code == 201, response.text
        assert response.json()["accounts_affected"] == 3
        alerts = (await client.get("/risk/alerts?rule_code=INDUSTRY_POLICY", headers=RISK)).json()["items"]
        assert sorted(a["account_id"] for a in alerts) == sorted(steel)
        assert {a["level"] for a in alerts} == {"orange"}
        assert all("粗钢产量压减政策" in a["title"] for a in alerts)
        assert (await client.get(f"/risk/alerts?account_id={other}", headers=RISK)).json()["total"] == 0
        raised = await outbox_events(app, "risk.alert_raised")
        assert sorted(e["account_id"] for e in raised) == sorted(steel)

        # An account that joins the industry later gets the policy too; re-delivery changes nothing.
        late = registered("新钢铁客户", industry="钢铁")
        await deliver(app, late)
        await deliver(app, late.model_copy(update={"id": str(uuid.uuid4())}))
        late_alerts = (await client.get(f"/risk/alerts?account_id={late.account_id}", headers=RISK)).json()
        assert late_alerts["total"] == 1
        # Only a risk officer enters policies.
        denied = await client.post(
            "/risk/industry-policies",
            json={"industry": "钢铁", "title": "x", "impact": 1},
            headers=auth("supervisor", user_id="sup-wang"),
        )
        assert denied.status_code == 403


async def test_a_complaint_escalated_twice_over_real_nats_raises_one_relationship_alert(make_database, nats_url):
    app = make_app(await make_database("risk"), nats_url=nats_url)
    async with running(app) as client:
        await wait_until(lambda: _subscribed(app), message="risk subscribed")
        account_id = await add_account(app, "格力电器")
        event = escalated(account_id, "c-1")
        marker = escalated(account_id, "c-2", level=2)
        nc = await asyncio.wait_for(nats.connect(nats_url, max_reconnect_attempts=3), timeout=10)
        js = nc.jetstream(timeout=5)
        payload = event.model_dump_json().encode()
        # Different message ids defeat JetStream de-duplication, so the event really arrives twice.
        await js.publish(event.subject, payload, headers={"Nats-Msg-Id": "first"})
        await js.publish(event.subject, payload, headers={"Nats-Msg-Id": "second"})
        await js.publish(marker.subject, marker.model_dump_json().encode(), headers={"Nats-Msg-Id": marker.id})
        await asyncio.wait_for(nc.close(), timeout=10)

        async def marker_applied():
            items = (await client.get(f"/risk/accounts/{account_id}/signals", headers=RISK)).json()["items"]
            return any(s["details"].get("complaint_id") == "c-2" for s in items)

        await wait_until(marker_applied, message="marker escalation applied")
        alerts = (await client.get("/risk/alerts?rule_code=RELATIONSHIP_RISK", headers=RISK)).json()["items"]
        assert len(alerts) == 1
        alert = alerts[0]
        assert alert["account_id"] == account_id
        # The first escalation raised it (orange); the level-2 one escalated the same alert to red.
        assert alert["level"] == "red"
        assert alert["signal_count"] == 2
        raised = [
            e for e in await outbox_events(app, "risk.alert_raised") if e["data"]["rule_code"] == "RELATIONSHIP_RISK"
        ]
        assert [e["data"]["level"] for e in raised] == ["orange", "red"]
        signals = (await client.get(f"/risk/accounts/{account_id}/signals", headers=RISK)).json()
        assert signals["total"] == 2


async def _subscribed(app) -> bool:
    return app.state.consumer.subscribed.is_set()


async def test_the_same_escalation_under_a_new_event_id_is_deduplicated_per_account_and_rule(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "小米")
        first = escalated(account_id, "c-9")
        await deliver(app, first, first.model_copy(update={"id": str(uuid.uuid4())}))
        # Another complaint at the same level folds into the open alert instead of raising a second one.
        await deliver(app, escalated(account_id, "c-10"))
        alerts = (await client.get(f"/risk/alerts?account_id={account_id}", headers=RISK)).json()["items"]
        assert [(a["rule_code"], a["level"], a["signal_count"]) for a in alerts] == [("RELATIONSHIP_RISK", "orange", 2)]
        assert len(await outbox_events(app, "risk.alert_raised")) == 1


async def test_alert_lifecycle_with_contingency_plan_and_cleared_event(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        await register_users(app, PEOPLE)
        account_id = await add_account(app, "联想", owner_id="am-zhang")
        await deliver(app, escalated(account_id, "c-1"))
        alert = (await client.get(f"/risk/alerts?account_id={account_id}", headers=RISK)).json()["items"][0]
        detail = (await client.get(f"/risk/alerts/{alert['id']}", headers=RISK)).json()
        # The complaint-escalation plan became action items owned by the account owner, due from the clock's now.
        assert [(i["owner_id"], i["due_at"]) for i in detail["action_items"]] == [
            ("am-zhang", "2026-03-17T09:00:00Z"),
            ("am-zhang", "2026-03-22T09:00:00Z"),
        ]
        url = f"/risk/alerts/{alert['id']}/transitions"
        zhang = auth("account_manager", user_id="am-zhang")
        wrong = await client.post(url, json={"status": "mitigating"}, headers=zhang)
        assert wrong.status_code == 409
        assert wrong.json()["allowed"] == ["acknowledged", "cleared"]
        assert (await client.post(url, json={"status": "acknowledged"}, headers=auth("viewer"))).status_code == 403
        assert (
            await client.post(url, json={"status": "acknowledged"}, headers=auth("account_manager", user_id="am-li"))
        ).status_code == 404
        stale = await client.post(url, json={"status": "acknowledged"}, headers={**zhang, "If-Match": '"99"'})
        assert stale.status_code == 412
        for status in ("acknowledged", "mitigating"):
            response = await client.post(url, json={"status": status}, headers=zhang)
            assert response.status_code == 200, response.text
        item = detail["action_items"][0]["id"]
        done = await client.post(f"/risk/action-items/{item}/complete", headers=zhang)
        assert (done.json()["status"], done.json()["done_by"]) == ("done", "am-zhang")
        cleared = await client.post(url, json={"status": "cleared", "note": "客户高层已回访"}, headers=zhang)
        assert cleared.json()["status"] == "cleared"
        assert [e["data"]["alert_id"] for e in await outbox_events(app, "risk.alert_cleared")] == [alert["id"]]
        # Once cleared, a new escalation raises a fresh alert.
        await deliver(app, escalated(account_id, "c-2"))
        open_alerts = (await client.get(f"/risk/alerts?account_id={account_id}&status=open", headers=RISK)).json()
        assert open_alerts["total"] == 1
        assert open_alerts["items"][0]["id"] != alert["id"]


async def test_monthly_totals_raise_a_sales_drop_alert_for_last_month_in_any_order(sqlite_database):
    app = make_app(await sqlite_database("risk"))  # 2026-03-15: last month is February
    async with running(app) as client:
        account_id = await add_account(app, "海康威视")
        # February arrives before January; re-recorded January totals (not deltas) replace the first figure.
        await deliver(app, actuals(account_id, "2026-02", "55000"))
        await deliver(app, actuals(account_id, "2026-01", "90000"))
        await deliver(app, actuals(account_id, "2026-01", "100000"))
        # A drop in older history (here 67 %) is not a current risk; the running month is a partial total.
        await deliver(app, actuals(account_id, "2025-11", "300000"))
        await deliver(app, actuals(account_id, "2025-12", "100000"))
        await deliver(app, actuals(account_id, "2026-03", "1000"))
        alerts = (await client.get("/risk/alerts?rule_code=SALES_DROP", headers=RISK)).json()["items"]
        assert [(a["account_id"], a["level"]) for a in alerts] == [(account_id, "orange")]  # 45 % down
        signals = (await client.get(f"/risk/accounts/{account_id}/signals?signal_type=sales_drop", headers=RISK)).json()
        assert [(s["details"]["period"], s["value"]) for s in signals["items"]] == [("2026-02", "45.0000")]


async def test_revenue_concentration_is_computed_portfolio_wide_by_the_watch(sqlite_database):
    app = make_app(await sqlite_database("risk"))  # 2026-03-15
    async with running(app) as client:
        big = await add_account(app, "大客户")
        small = [await add_account(app, f"小客户{i}") for i in range(3)]
        await deliver(app, actuals(big, "2026-02", "500000"), actuals(big, "2025-06", "100000"))
        # While only the big account has reported, nothing is concluded from the partial picture.
        assert (await client.get("/risk/alerts?rule_code=REVENUE_CONCENTRATION", headers=RISK)).json()["total"] == 0
        for account_id in small:
            await deliver(app, actuals(account_id, "2026-02", "100000"), actuals(account_id, "2024-12", "900000"))
        watch = await client.post("/risk/jobs/risk-watch", headers=RISK)
        assert watch.status_code == 200, watch.text
        assert watch.json()["revenue_accounts"] == 4
        # 12 months to February 2026: big 600 000 of 900 000 = 66.67 % → red; the 2024 figures are outside.
        alerts = (await client.get("/risk/alerts?rule_code=REVENUE_CONCENTRATION", headers=RISK)).json()["items"]
        assert [(a["account_id"], a["level"]) for a in alerts] == [(big, "red")]
        signals = (await client.get(f"/risk/accounts/{big}/signals", headers=RISK)).json()["items"]
        assert [s["value"] for s in signals if s["signal_type"] == "revenue_concentration"] == ["66.6700"]
        # Small accounts at 11.11 % each match no rule and leave no signal.
        assert (await client.get(f"/risk/accounts/{small[0]}/signals", headers=RISK)).json()["total"] == 0


async def test_on_a_large_portfolio_totals_mark_the_shares_stale_and_one_job_run_evaluates_them(sqlite_database):
    """Above ``concentration_event_max_accounts`` a total does not re-evaluate every account's share (a bulk import
    would do that once per account): it marks the shares stale, and the job evaluates them once for all."""
    app = make_app(await sqlite_database("risk"), concentration_event_max_accounts=3)  # 2026-03-15
    async with running(app) as client:
        big = await add_account(app, "大客户")
        small = [await add_account(app, f"小客户{i}") for i in range(3)]
        await deliver(app, actuals(big, "2026-02", "500000"), actuals(big, "2025-06", "100000"))
        for account_id in small:
            await deliver(app, actuals(account_id, "2026-02", "100000"))
        assert (await client.get("/risk/alerts?rule_code=REVENUE_CONCENTRATION", headers=RISK)).json()["total"] == 0
        assert await concentration_job(app) == 4  # every total since, in one evaluation
        alerts = (await client.get("/risk/alerts?rule_code=REVENUE_CONCENTRATION", headers=RISK)).json()["items"]
        assert [(a["account_id"], a["level"]) for a in alerts] == [(big, "red")]  # 600 000 of 900 000
        assert await concentration_job(app) is None  # nothing came in since
        await deliver(app, actuals(small[0], "2026-01", "900000"))  # big: 600 000 of 1 800 000
        assert await concentration_job(app) == 4
        signals = (await client.get(f"/risk/accounts/{big}/signals", headers=RISK)).json()["items"]
        assert sorted(s["value"] for s in signals if s["signal_type"] == "revenue_concentration") == ["33.3300"]


async def test_rules_are_configurable_and_financial_signals_use_them(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "中兴通讯")
        rule = {
            "name": "财务恶化(严格)",
            "signal_type": "financial_deterioration",
            "conditions": [{"operator": "gte", "threshold": "1", "level": "red"}],
        }
        put = await client.put("/risk/rules/financial_deterioration", json=rule, headers=RISK)
        assert put.status_code == 200, put.text
        assert put.json()["version"] == 2
        assert put.headers["etag"] == '"2"'
        stale = await client.put("/risk/rules/FINANCIAL_DETERIORATION", json=rule, headers={**RISK, "If-Match": '"1"'})
        assert stale.status_code == 412
        bad = await client.put("/risk/rules/X", json={**rule, "signal_type": "weather"}, headers=RISK)
        assert bad.status_code == 422
        signal = await client.post(
            f"/risk/accounts/{account_id}/signals",
            json={"value": 1, "title": "审计意见保留 Qualified audit opinion", "reference": "AR-2025"},
            headers=RISK,
        )
        assert signal.status_code == 201, signal.text
        alerts = (await client.get(f"/risk/alerts?account_id={account_id}", headers=RISK)).json()["items"]
        assert [(a["rule_code"], a["level"]) for a in alerts] == [("FINANCIAL_DETERIORATION", "red")]
        assert alerts[0]["title"] == "财务恶化(严格): 审计意见保留 Qualified audit opinion"


async def test_handlers_use_the_injectable_clock(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "TCL")
        app.state.clock.set(datetime(2026, 5, 1, 8, 0, tzinfo=UTC))
        await deliver(app, escalated(account_id, "c-1"))
        alert = (await client.get(f"/risk/alerts?account_id={account_id}", headers=RISK)).json()["items"][0]
        assert alert["raised_at"] == "2026-05-01T08:00:00Z"


async def test_a_configured_contingency_plan_becomes_action_items_with_owners_and_due_dates(sqlite_database):
    app = make_app(await sqlite_database("risk"))  # 2026-03-15 09:00 UTC
    async with running(app) as client:
        await register_users(app, PEOPLE)
        account_id = await add_account(app, "万科", owner_id="am-li")
        plan = {
            "steps": [
                {"title": "约见客户财务总监", "owner": "account_owner", "due_in_days": 1},
                {"title": "要求提供担保", "owner": "risk-chen", "due_in_days": 10},
                {"title": "主管决定是否停止赊销", "owner": "supervisor", "due_in_days": 3},
            ]
        }
        put = await client.put("/risk/plan-templates/financial_deterioration", json=plan, headers=RISK)
        assert put.status_code == 200, put.text
        assert put.json()["version"] == 2
        await client.post(
            f"/risk/accounts/{account_id}/signals",
            json={"value": 4, "title": "债券违约 Bond default", "reference": "news-1"},
            headers=RISK,
        )
        alert = (await client.get(f"/risk/alerts?account_id={account_id}", headers=RISK)).json()["items"][0]
        assert alert["level"] == "red"
        items = (await client.get(f"/risk/alerts/{alert['id']}", headers=RISK)).json()["action_items"]
        assert [(i["title"], i["owner_id"], i["owner_role"], i["due_at"]) for i in items] == [
            ("约见客户财务总监", "am-li", None, "2026-03-16T09:00:00Z"),
            ("主管决定是否停止赊销", None, "supervisor", "2026-03-18T09:00:00Z"),
            ("要求提供担保", "risk-chen", None, "2026-03-25T09:00:00Z"),
        ]
        mine = await client.get("/risk/action-items?owner_id=am-li", headers=auth("account_manager", user_id="am-li"))
        assert [i["title"] for i in mine.json()["items"]] == ["约见客户财务总监"]
