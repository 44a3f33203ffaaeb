"""The notification events over HTTP and the periodic jobs: a limit request tells the checkers who made it, and
the jobs announce overdue plan steps and contract stages once — not again on a second run or after a restart."""

from __future__ import annotations

from datetime import timedelta

from services.risk.contracts.compliance import CLAUSES
from services.risk.jobs import contract_reminders_job, risk_watch_job
from tests.risk.support import PEOPLE, START, add_account, make_app, outbox_events
from tests.support import auth, register_users, running

RISK_CHEN = auth("risk_officer", user_id="risk-chen")
RISK_LIU = auth("risk_officer", user_id="risk-liu")
LI = auth("account_manager", user_id="am-li")


async def test_a_limit_request_publishes_limit_request_submitted_once_with_the_maker(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        await register_users(app, PEOPLE)
        account_id = await add_account(app, "中国中车")
        headers = {**RISK_CHEN, "Idempotency-Key": "limit-1"}
        body = {"requested_limit": "3000000", "currency": "CNY", "reason": "新项目", "checker_id": "risk-liu"}
        created = await client.post(f"/risk/accounts/{account_id}/limit-requests", json=body, headers=headers)
        assert created.status_code == 201, created.text
        replayed = await client.post(f"/risk/accounts/{account_id}/limit-requests", json=body, headers=headers)
        assert replayed.json()["id"] == created.json()["id"]
        [event] = await outbox_events(app, "risk.limit_request_submitted")
        assert (event["source"], event["account_id"]) == ("risk", account_id)
        assert event["data"]["request_id"] == created.json()["id"]
        assert (event["data"]["requested_by"], event["data"]["checker_role"]) == ("risk-chen", "risk_officer")
        # Deciding it publishes no second submission.
        assert (await client.post(f"/risk/limit-requests/{created.json()['id']}/approve", headers=RISK_LIU)).is_success
        assert len(await outbox_events(app, "risk.limit_request_submitted")) == 1


async def test_reassigning_a_step_over_http_publishes_action_item_assigned(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        await register_users(app, PEOPLE)
        account_id = await add_account(app, "中国建材", owner_id="am-li")
        signal = {"signal_type": "financial_deterioration", "value": "3", "title": "评级下调", "reference": "r-1"}
        assert (await client.post(f"/risk/accounts/{account_id}/signals", json=signal, headers=RISK_CHEN)).is_success
        assert len(await outbox_events(app, "risk.action_item_assigned")) == 2  # the plan's two steps
        [alert] = (await client.get(f"/risk/alerts?account_id={account_id}", headers=RISK_CHEN)).json()["items"]
        step = (await client.get(f"/risk/alerts/{alert['id']}", headers=RISK_CHEN)).json()["action_items"][0]
        moved = await client.patch(f"/risk/action-items/{step['id']}", json={"owner_id": "risk-liu"}, headers=RISK_CHEN)
        assert moved.status_code == 200, moved.text
        events = await outbox_events(app, "risk.action_item_assigned")
        assert len(events) == 3
        assert (events[-1]["data"]["item_id"], events[-1]["data"]["owner_id"]) == (step["id"], "risk-liu")


async def test_the_risk_watch_announces_overdue_steps_once_across_runs_and_restarts(sqlite_database):
    url = await sqlite_database("risk")
    app = make_app(url)
    async with running(app) as client:
        await register_users(app, PEOPLE)
        account_id = await add_account(app, "宝钢", owner_id="am-li")
        signal = {"signal_type": "financial_deterioration", "value": "4", "title": "亏损", "reference": "loss-1"}
        assert (await client.post(f"/risk/accounts/{account_id}/signals", json=signal, headers=RISK_CHEN)).is_success
        assert (await risk_watch_job(app))["action_items_overdue"] == 0
        app.state.clock.set(START + timedelta(days=4))  # the 3-day step is past due, the 7-day one is not
        assert (await risk_watch_job(app))["action_items_overdue"] == 1
        assert (await risk_watch_job(app))["action_items_overdue"] == 0
        app.state.clock.set(START + timedelta(days=8))
        ran = await client.post("/risk/jobs/risk-watch", headers=RISK_CHEN)  # the ops route does the same
        assert ran.json()["action_items_overdue"] == 1
    restarted = make_app(url)
    restarted.state.clock.set(START + timedelta(days=9))
    async with running(restarted):
        assert (await risk_watch_job(restarted))["action_items_overdue"] == 0
        events = await outbox_events(restarted, "risk.action_item_overdue")
        assert [(e["data"]["owner_role"], e["data"]["owner_id"], e["data"]["due_on"]) for e in events] == [
            ("risk_officer", None, "2026-03-18"),
            (None, "am-li", "2026-03-22"),
        ]


async def test_the_contract_reminder_job_publishes_contract_expiring_once_per_stage(sqlite_database):
    url = await sqlite_database("risk")
    app = make_app(url)
    async with running(app) as client:
        await register_users(app, PEOPLE)
        account_id = await add_account(app, "国家电网", owner_id="am-li")
        contract = {
            "title": "供货合同",
            "contract_type": "framework",
            "start_on": "2026-01-01",
            "end_on": "2026-06-13",  # 90 days after 2026-03-15
            "clauses": dict.fromkeys(CLAUSES, True),
        }
        contract_id = (await client.post(f"/risk/accounts/{account_id}/contracts", json=contract, headers=LI)).json()[
            "id"
        ]
        for status, headers in (("legal_review", LI), ("approved", RISK_CHEN)):
            moved = await client.post(
                f"/risk/contracts/{contract_id}/transitions", json={"status": status}, headers=headers
            )
            assert moved.status_code == 200, moved.text
        assert await contract_reminders_job(app) == 1
        assert await contract_reminders_job(app) == 0
    restarted = make_app(url)
    async with running(restarted):
        assert await contract_reminders_job(restarted) == 0
        [event] = await outbox_events(restarted, "risk.contract_expiring")
        assert event["account_id"] == account_id
        assert event["data"] == {
            "contract_id": contract_id,
            "title": "供货合同",
            "expires_on": "2026-06-13",
            "days_left": 90,
            "stage": 90,
            "owner_id": "am-li",
        }
