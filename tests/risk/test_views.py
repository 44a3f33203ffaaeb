"""The gateway contract: the risk section of the account overview and of the portfolio board."""

from __future__ import annotations

from tests.risk.support import add_account, deliver, make_app
from tests.risk.test_early_warning_api import escalated
from tests.support import auth, running

RISK = auth("risk_officer", user_id="risk-chen")
CHECKER = auth("risk_officer", user_id="risk-liu")


async def _limit(client, account_id: str, amount: str) -> None:
    request = (
        await client.post(
            f"/risk/accounts/{account_id}/limit-requests",
            json={"requested_limit": amount, "reason": "view test"},
            headers=RISK,
        )
    ).json()
    assert (await client.post(f"/risk/limit-requests/{request['id']}/approve", headers=CHECKER)).status_code == 200


async def test_account_and_portfolio_views_show_grade_utilisation_aging_alerts_and_contracts(make_database):
    app = make_app(await make_database("risk"))  # clock 2026-03-15
    async with running(app) as client:
        over = await add_account(app, "超额客户", tier="strategic", owner_id="am-li")
        calm = await add_account(app, "平稳客户", tier="growth", owner_id="am-zhang")
        await _limit(client, over, "1000")
        await _limit(client, calm, "100000")
        await client.post(
            f"/risk/accounts/{over}/invoices",
            json={"number": "I-1", "amount": "1500", "issued_on": "2026-01-01", "due_on": "2026-02-01"},
            headers=RISK,
        )  # 42 days overdue
        await client.post(
            f"/risk/accounts/{over}/assessments", json={"debt_ratio": "0.95", "external_rating": "CCC"}, headers=RISK
        )
        await deliver(app, escalated(over, "c-1", level=2))
        await client.post(
            f"/risk/accounts/{over}/contracts",
            json={"title": "无保密条款的合同", "contract_type": "sales", "start_on": "2026-01-01", "clauses": {}},
            headers=RISK,
        )

        view = (await client.get(f"/risk/views/accounts/{over}", headers=RISK)).json()
        assert (view["name"], view["tier"]) == ("超额客户", "strategic")
        credit = view["credit"]
        assert credit["grade"] == "E"
        assert (credit["effective_limit"], credit["exposure"], credit["utilisation_pct"]) == (
            "1000.0000",
            "1500.0000",
            "150.00",
        )
        assert credit["over_limit"] is True
        assert view["aging"]["31_60"] == "1500.0000"
        assert view["aging"]["overdue"] == "1500.0000"
        # Relationship risk (level-2 escalation) and 150 % utilisation are red; 42 days overdue is orange.
        assert view["open_alerts_by_level"] == {"green": 0, "yellow": 0, "orange": 1, "red": 2}
        assert sorted(a["rule_code"] for a in view["open_alerts"]) == [
            "CREDIT_UTILISATION",
            "RECEIVABLES_OVERDUE",
            "RELATIONSHIP_RISK",
        ]
        assert view["open_alerts"][-1]["rule_code"] == "RECEIVABLES_OVERDUE"  # most severe first
        [attention] = view["contracts_needing_attention"]
        assert attention["reasons"] == ["missing_mandatory_clauses"]
        assert "confidentiality" in attention["missing_clauses"]

        board = (await client.get("/risk/views/portfolio", headers=auth("supervisor", user_id="sup-wang"))).json()
        assert {"tier": "strategic", "level": "red", "count": 2} in board["heatmap"]
        assert {"tier": "strategic", "level": "orange", "count": 1} in board["heatmap"]
        assert sum(cell["count"] for cell in board["heatmap"]) == 3
        assert [(r["account_id"], r["utilisation_pct"]) for r in board["over_limit"]] == [(over, "150.00")]
        assert [(r["account_id"], r["highest_level"]) for r in board["top_risks"]] == [(over, "red")]
        assert board["grades"]["E"] == 1

        # Account managers see only their own book on the board.
        zhang = (await client.get("/risk/views/portfolio", headers=auth("account_manager", user_id="am-zhang"))).json()
        assert zhang["over_limit"] == [] and zhang["top_risks"] == [] and zhang["heatmap"] == []
        li = (await client.get("/risk/views/portfolio", headers=auth("account_manager", user_id="am-li"))).json()
        assert [r["account_id"] for r in li["over_limit"]] == [over]

        empty = (await client.get(f"/risk/views/accounts/{calm}", headers=RISK)).json()
        assert empty["credit"]["grade"] is None
        assert empty["credit"]["utilisation_pct"] == "0.00"
        assert empty["open_alerts"] == [] and empty["contracts_needing_attention"] == []


async def test_the_openapi_document_builds_and_every_route_is_summarised_under_risk(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        spec = (await client.get("/openapi.json")).json()
    operations = [(path, op) for path, ops in spec["paths"].items() for op in ops.values()]
    ours = [(path, op) for path, op in operations if path.startswith("/risk/")]
    assert len(ours) >= 40
    assert [path for path, op in ours if not op.get("summary")] == []
    assert {path for path, _ in operations} - {path for path, _ in ours} <= {"/healthz", "/readyz", "/metrics"}
