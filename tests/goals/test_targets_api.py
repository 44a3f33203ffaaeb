"""Targets over the API: decomposition that rolls up, approvals, access per role, action plans."""

from decimal import Decimal as D

from sqlalchemy import select

from services.goals.models import platform
from tests.goals.helpers import (
    LI,
    SUPERVISOR,
    VIEWER,
    ZHANG,
    approve,
    create_target,
    goals_app,
    register_account,
    register_team,
)
from tests.support import running


async def test_even_seasonal_and_manual_splits_roll_up_exactly_and_a_non_adding_split_names_the_gap(make_database):
    app, _ = goals_app(await make_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="宁德时代新能源科技股份有限公司")
        year = await create_target(
            client, account_id=account, metric="revenue", period="2026", target_value="1000000.01"
        )

        response = await client.post(
            f"/goals/targets/{year['id']}/split", json={"into": "quarters"}, headers=SUPERVISOR
        )
        assert response.status_code == 201, response.text
        quarters = {q["period"]: D(q["target_value"]) for q in response.json()}
        assert quarters == {
            "2026-Q1": D("250000.01"),
            "2026-Q2": D("250000.00"),
            "2026-Q3": D("250000.00"),
            "2026-Q4": D("250000.00"),
        }
        rollup = (await client.get(f"/goals/targets/{year['id']}/rollup", headers=SUPERVISOR)).json()
        assert rollup["consistent"] is True and D(rollup["children_sum"]) == D("1000000.01")

        # Seasonal by the configured template, straight into months: the parts still add up to the cent.
        response = await client.post(
            f"/goals/targets/{year['id']}/split",
            json={"into": "months", "method": "seasonal", "template": "industrial"},
            headers=SUPERVISOR,
        )
        assert response.status_code == 201, response.text
        months = {m["period"]: D(m["target_value"]) for m in response.json()}
        assert len(months) == 12 and sum(months.values()) == D("1000000.01")
        # industrial weights 6,5,8,8,8,9,8,8,9,9,10,12 (sum 100): December carries 12 % and, having the
        # largest remainder (0.12 of a cent), the one cent left over.
        assert months["2026-12"] == D("120000.01")
        assert months["2026-02"] == D("50000.00")

        # Manual split of Q1 into months (gross profit: the year's revenue months exist already, and one live target
        # per account, metric, period and product line): exact parts are accepted …
        q1 = await create_target(
            client, account_id=account, metric="gross_profit", period="2026-Q1", target_value="300"
        )
        parts = {"2026-01": "90", "2026-02": "60", "2026-03": "150"}
        response = await client.post(
            f"/goals/targets/{q1['id']}/split",
            json={"into": "months", "method": "manual", "parts": parts},
            headers=SUPERVISOR,
        )
        assert response.status_code == 201, response.text
        assert sorted(D(c["target_value"]) for c in response.json()) == [D(60), D(90), D(150)]
        # … parts that do not add up are refused with a 422 naming the gap.
        bad = {"2026-01": "90", "2026-02": "60", "2026-03": "100"}
        response = await client.post(
            f"/goals/targets/{q1['id']}/split",
            json={"into": "months", "method": "manual", "parts": bad},
            headers=SUPERVISOR,
        )
        assert response.status_code == 422
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["field"] == "parts" and problem["gap"] == "50.00"
        assert "gap of 50.00" in problem["detail"]
        # The earlier split stays in place; changing one part so the sum breaks is refused too.
        children = (await client.get(f"/goals/targets/{q1['id']}/rollup", headers=SUPERVISOR)).json()["children"]
        assert sum(D(c["target_value"]) for c in children) == D(300)
        jan = next(c for c in children if c["period"] == "2026-01")
        response = await client.patch(f"/goals/targets/{jan['id']}", json={"target_value": "95"}, headers=SUPERVISOR)
        assert response.status_code == 422 and response.json()["gap"] == "-5.00"

        # By product line: manual parts that add up.
        lines = {"工业网关": "200", "PLC控制器": "100"}
        response = await client.post(
            f"/goals/targets/{q1['id']}/split",
            json={"by": "product_line", "method": "manual", "parts": lines},
            headers=SUPERVISOR,
        )
        assert response.status_code == 201
        assert {c["product_line"]: c["target_value"] for c in response.json()} == {
            "工业网关": "200.00",
            "PLC控制器": "100.00",
        }

        # Ratios do not add up, so they cannot be split.
        margin = await create_target(
            client, account_id=account, metric="gross_margin_pct", period="2026", target_value="30"
        )
        response = await client.post(f"/goals/targets/{margin['id']}/split", json={}, headers=SUPERVISOR)
        assert response.status_code == 422


async def test_account_managers_see_only_their_accounts_and_viewers_only_read(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        li_account = await register_account(app, name="李的客户", owner_id="am-li")
        zhang_account = await register_account(app, name="张的客户", owner_id="am-zhang")
        own = await create_target(
            client, LI, account_id=li_account, metric="revenue", period="2026", target_value="500"
        )
        other = await create_target(
            client, account_id=zhang_account, metric="revenue", period="2026", target_value="800"
        )

        assert (await client.get(f"/goals/targets/{other['id']}", headers=LI)).status_code == 404
        response = await client.post(
            "/goals/targets",
            json={"account_id": zhang_account, "metric": "revenue", "period": "2026", "target_value": "1"},
            headers=LI,
        )
        assert response.status_code == 404
        listed = (await client.get("/goals/targets", headers=LI)).json()
        assert [t["id"] for t in listed["items"]] == [own["id"]]
        assert (await client.get(f"/goals/views/accounts/{zhang_account}", headers=LI)).status_code == 404
        # Account managers draft; only supervisors approve.
        assert (await client.post(f"/goals/targets/{own['id']}/approve", headers=LI)).status_code == 403
        assert (await client.get(f"/goals/targets/{own['id']}", headers=VIEWER)).status_code == 200
        response = await client.post(
            "/goals/targets",
            json={"account_id": li_account, "metric": "revenue", "period": "2026", "target_value": "1"},
            headers=VIEWER,
        )
        assert response.status_code == 403
        assert (await client.get(f"/goals/targets/{own['id']}", headers=ZHANG)).status_code == 404


async def test_approval_publishes_target_set_and_stale_if_match_is_refused(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="比亚迪股份有限公司")
        target = await create_target(
            client,
            account_id=account,
            metric="revenue",
            period="2026",
            target_value="1000",
            stretch_value="1200",
            note="年度目标",
        )
        assert target["status"] == "draft" and target["note"] == "年度目标"
        response = await client.post(
            f"/goals/targets/{target['id']}/approve", headers={**SUPERVISOR, "If-Match": '"7"'}
        )
        assert response.status_code == 412
        approved = await approve(client, target["id"])
        assert approved["status"] == "approved" and approved["approved_by"] == "sup-wang"
        async with app.state.db.transaction() as session:
            payloads = (await session.execute(select(platform.outbox.c.subject))).scalars().all()
        # Half of the year is gone without a sale, so the approved target is at risk at once.
        assert payloads == ["kam.goals.target_set", "kam.goals.target_at_risk"]
        again = await client.post(f"/goals/targets/{target['id']}/approve", headers=SUPERVISOR)
        assert again.status_code == 409


async def test_action_plan_completion_and_overdue_items(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))  # today is 2026-07-01
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="美的集团")
        target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="1000")
        ids = []
        for title, due in (
            ("高层拜访", "2026-06-15"),
            ("方案演示", "2026-08-01"),
            ("交叉销售PLC", "2026-06-01"),
            ("取消项", "2026-05-01"),
        ):
            response = await client.post(
                f"/goals/targets/{target['id']}/actions",
                json={"title": title, "owner_id": "am-li", "due_date": due, "expected_impact": "50000"},
                headers=SUPERVISOR,
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        assert (
            await client.patch(f"/goals/actions/{ids[2]}", json={"status": "done"}, headers=SUPERVISOR)
        ).status_code == 200
        assert (
            await client.patch(f"/goals/actions/{ids[3]}", json={"status": "cancelled"}, headers=SUPERVISOR)
        ).status_code == 200
        bad = await client.patch(f"/goals/actions/{ids[3]}", json={"status": "done"}, headers=SUPERVISOR)
        assert bad.status_code == 409 and bad.json()["allowed"] == ["open"]

        overdue = (await client.get("/goals/actions", params={"overdue": "true"}, headers=SUPERVISOR)).json()
        assert [i["title"] for i in overdue["items"]] == ["高层拜访"]
        read = (await client.get(f"/goals/targets/{target['id']}", headers=SUPERVISOR)).json()
        assert read["action_completion_pct"] == "33.33"  # 1 done of 3 (the cancelled one does not count)
        view = (await client.get(f"/goals/views/accounts/{account}", headers=SUPERVISOR)).json()
        assert [i["title"] for i in view["overdue_action_items"]] == ["高层拜访"]
        board = (await client.get("/goals/views/portfolio", headers=SUPERVISOR)).json()
        assert board["overdue_action_items_count"] == 1


async def test_team_targets_roll_up_from_accounts_unless_set_explicitly(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        a = await register_account(app, name="客户甲", owner_id="am-li")
        b = await register_account(app, name="客户乙", owner_id="am-li")
        await create_target(client, account_id=a, metric="revenue", period="2026", target_value="300")
        await create_target(client, account_id=b, metric="revenue", period="2026", target_value="700")
        await create_target(client, account_id=b, metric="gross_profit", period="2026", target_value="100")
        explicit = await create_target(
            client, owner_id="am-li", metric="gross_profit", period="2026", target_value="250"
        )
        rows = (
            await client.get("/goals/team-targets", params={"period": "2026", "owner_id": "am-li"}, headers=SUPERVISOR)
        ).json()
        by_metric = {r["metric"]: r for r in rows}
        assert by_metric["revenue"]["rolled_up"] == "1000.00" and by_metric["revenue"]["source"] == "rolled_up"
        assert by_metric["revenue"]["effective"] == "1000.00" and by_metric["revenue"]["accounts"] == 2
        assert by_metric["gross_profit"]["effective"] == "250.00"
        assert by_metric["gross_profit"]["explicit_target_id"] == explicit["id"]


async def test_a_batch_of_targets_is_all_or_nothing_and_only_approvers_approve_it(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        a = await register_account(app, name="批量甲", owner_id="am-li")
        b = await register_account(app, name="批量乙", owner_id="am-li")
        good = {"account_id": a, "metric": "revenue", "period": "2026", "target_value": "100"}
        bad = {"account_id": b, "metric": "revenue", "period": "2026-Q5", "target_value": "100"}
        response = await client.post("/goals/targets/batch", json={"targets": [good, bad]}, headers=SUPERVISOR)
        assert response.status_code == 422 and response.json()["field"] == "targets.1"
        assert (await client.get("/goals/targets", headers=SUPERVISOR)).json()["total"] == 0
        response = await client.post("/goals/targets/batch", json={"targets": [good], "approve": True}, headers=LI)
        assert response.status_code == 403
        both = [good, {**bad, "period": "2026"}]
        response = await client.post(
            "/goals/targets/batch", json={"targets": both, "approve": True}, headers=SUPERVISOR
        )
        assert response.status_code == 201
        assert [(t["account_id"], t["status"]) for t in response.json()] == [(a, "approved"), (b, "approved")]
