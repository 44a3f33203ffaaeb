"""The demo loader: grades A–E, over-limit accounts, a blocked order, an industry alert, contracts with gaps."""

from __future__ import annotations

from kam.demo import DemoContext
from kam.demo import risk as demo
from shared.clock import SystemClock
from tests.risk.support import add_account, make_app
from tests.support import auth, running, token


async def test_demo_loads_grades_limits_overdue_receivables_alerts_and_contracts(sqlite_database):
    app = make_app(await sqlite_database("risk"), clock=SystemClock())  # type: ignore[arg-type]
    # The loader sends If-Match itself: no re-read by the test client.
    async with running(app, headers=auth("admin", user_id="demo-loader"), reads_etag_first=False) as client:
        specs = [
            ("宁德时代", "新能源", "am-li", "strategic"),
            ("比亚迪", "新能源", "am-zhang", "strategic"),
            ("美的集团", "家电", "am-li", "key"),
            ("海尔智家", "家电", "am-zhang", "key"),
            ("三一重工", "新能源", "am-li", "growth"),
            ("中联重科", "工程机械", "am-zhang", "maintain"),
        ]
        accounts = []
        for name, industry, owner, tier in specs:
            account_id = await add_account(app, name, industry=industry, owner_id=owner, tier=tier)
            accounts.append({"id": account_id, "name": name, "industry": industry, "owner_id": owner, "tier": tier})
        ctx = DemoContext(
            clients={"risk": client},
            shared={"accounts": accounts, "token_for": lambda user, roles: token(*roles, user_id=user)},
        )
        summary = await demo.load(ctx)
        again = await demo.load(ctx)
        board = (await client.get("/risk/views/portfolio")).json()
        policy_alerts = (await client.get("/risk/alerts", params={"rule_code": "INDUSTRY_POLICY"})).json()
        blocked = (await client.get("/risk/orders", params={"status": "blocked"})).json()
        contracts = (await client.get("/risk/contracts")).json()["items"]
        requests = (await client.get("/risk/limit-requests")).json()["items"]
        dollars = (await client.get(f"/risk/accounts/{accounts[0]['id']}/exposure")).json()
    assert summary["grades"] == {"A": 2, "B": 1, "C": 1, "D": 1, "E": 1}
    assert board["grades"] == {"A": 2, "B": 1, "C": 1, "D": 1, "E": 1}
    # Picked in turn per tier (strategic, key, growth, maintain, …): the 4th (D) and 5th (E) are over their limits.
    assert {r["name"] for r in board["over_limit"]} == {"中联重科", "比亚迪"}
    assert {cell["tier"] for cell in board["heatmap"]} == {"strategic", "key", "growth", "maintain"}
    assert blocked["total"] >= 1
    assert summary["industry_policy"] == {"industry": "新能源", "accounts_affected": 3}
    assert policy_alerts["total"] == 3
    assert {r["decided_by"] for r in requests} == {"risk-chen"}
    assert {r["requested_by"] for r in requests} == {"demo-loader"}
    assert sorted(c["status"] for c in contracts) == ["approved", "legal_review"]
    assert any(c["missing_mandatory_clauses"] == ["data_protection", "liability_cap"] for c in contracts)
    assert summary["reminders"] == 1
    assert again["skipped"] == "already loaded"
    # Rates for four currencies (a month ago and today); the dollar receivable is converted at today's rate.
    assert summary["fx_rates"] == 8
    assert [(c["currency"], c["amount"], c["rate"]) for c in dollars["conversions"]] == [("USD", "150000.0000", "7.18")]
    assert dollars["currency"] == "CNY" and dollars["over_limit"] is False
