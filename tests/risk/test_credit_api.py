"""Credit over HTTP: maker-checker limit changes, assessments, receivables, credit checks and releases."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tests.risk.support import add_account, make_app, outbox_events
from tests.support import auth, running

RISK_CHEN = auth("risk_officer", user_id="risk-chen")
RISK_LIU = auth("risk_officer", user_id="risk-liu")
SUPERVISOR = auth("supervisor", user_id="sup-wang")


async def test_the_maker_cannot_approve_and_an_approval_changes_the_limit_with_one_event(make_database):
    app = make_app(await make_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "华为技术有限公司")
        response = await client.post(
            f"/risk/accounts/{account_id}/limit-requests",
            json={"requested_limit": "5000000", "reason": "年度框架协议续签 annual framework renewal"},
            headers=RISK_CHEN,
        )
        assert response.status_code == 201, response.text
        request = response.json()
        assert request["status"] == "pending"
        assert request["reason"] == "年度框架协议续签 annual framework renewal"

        # Nothing applies before approval, and the maker cannot approve their own request.
        profile = (await client.get(f"/risk/accounts/{account_id}/credit", headers=RISK_CHEN)).json()
        assert profile["credit_limit"] is None
        denied = await client.post(f"/risk/limit-requests/{request['id']}/approve", headers=RISK_CHEN)
        assert denied.status_code == 403
        assert denied.headers["content-type"].startswith("application/problem+json")
        assert "maker" in denied.json()["detail"]
        # A supervisor is not a checker either: approval needs the risk-officer role.
        assert (
            await client.post(f"/risk/limit-requests/{request['id']}/approve", headers=SUPERVISOR)
        ).status_code == 403
        assert await outbox_events(app, "risk.credit_limit_changed") == []

        approved = await client.post(
            f"/risk/limit-requests/{request['id']}/approve", json={"note": "财报良好"}, headers=RISK_LIU
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
        assert approved.json()["decided_by"] == "risk-liu"
        profile = (await client.get(f"/risk/accounts/{account_id}/credit", headers=RISK_CHEN)).json()
        assert profile["credit_limit"] == "5000000.0000"
        assert profile["effective_limit"] == "5000000.0000"

        # Approving again is a 409 and publishes nothing more.
        again = await client.post(f"/risk/limit-requests/{request['id']}/approve", headers=RISK_LIU)
        assert again.status_code == 409
        events = await outbox_events(app, "risk.credit_limit_changed")
        assert len(events) == 1
        assert events[0]["account_id"] == account_id
        assert events[0]["data"]["old_limit"] is None
        assert Decimal(events[0]["data"]["new_limit"]) == Decimal("5000000")
        assert events[0]["data"]["approved_by"] == "risk-liu"
        assert events[0]["data"]["request_id"] == request["id"]


async def test_a_temporary_limit_overrides_until_it_expires_and_rejection_changes_nothing(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "比亚迪")
        first = (
            await client.post(
                f"/risk/accounts/{account_id}/limit-requests",
                json={"requested_limit": "1000", "reason": "initial"},
                headers=RISK_CHEN,
            )
        ).json()
        await client.post(f"/risk/limit-requests/{first['id']}/approve", headers=RISK_LIU)
        missing_expiry = await client.post(
            f"/risk/accounts/{account_id}/limit-requests",
            json={"kind": "temporary", "requested_limit": "3000", "reason": "旺季"},
            headers=RISK_CHEN,
        )
        assert missing_expiry.status_code == 422
        assert missing_expiry.json()["errors"][0]["field"] == "expires_on"
        temp = (
            await client.post(
                f"/risk/accounts/{account_id}/limit-requests",
                json={"kind": "temporary", "requested_limit": "3000", "expires_on": "2026-03-31", "reason": "旺季"},
                headers=RISK_CHEN,
            )
        ).json()
        await client.post(f"/risk/limit-requests/{temp['id']}/approve", headers=RISK_LIU)
        profile = (await client.get(f"/risk/accounts/{account_id}/credit", headers=RISK_CHEN)).json()
        assert (profile["credit_limit"], profile["effective_limit"]) == ("1000.0000", "3000.0000")
        app.state.clock.set(datetime(2026, 4, 1, tzinfo=UTC))
        profile = (await client.get(f"/risk/accounts/{account_id}/credit", headers=RISK_CHEN)).json()
        assert profile["effective_limit"] == "1000.0000"

        rejected_request = (
            await client.post(
                f"/risk/accounts/{account_id}/limit-requests",
                json={"requested_limit": "99999", "reason": "too much"},
                headers=RISK_CHEN,
            )
        ).json()
        rejected = await client.post(f"/risk/limit-requests/{rejected_request['id']}/reject", headers=RISK_LIU)
        assert rejected.json()["status"] == "rejected"
        profile = (await client.get(f"/risk/accounts/{account_id}/credit", headers=RISK_CHEN)).json()
        assert profile["credit_limit"] == "1000.0000"
        assert len(await outbox_events(app, "risk.credit_limit_changed")) == 2


async def test_exposure_aging_and_credit_check_over_http_with_release_of_a_blocked_order(make_database):
    app = make_app(await make_database("risk"))  # clock: 2026-03-15
    async with running(app) as client:
        account_id = await add_account(app, "宁德时代")
        request = (
            await client.post(
                f"/risk/accounts/{account_id}/limit-requests",
                json={"requested_limit": "10000", "reason": "initial"},
                headers=RISK_CHEN,
            )
        ).json()
        await client.post(f"/risk/limit-requests/{request['id']}/approve", headers=RISK_LIU)
        invoices = [
            ("INV-1", "3000", "0", "2026-02-01", "2026-03-31"),  # current
            ("INV-2", "2000", "500", "2026-01-15", "2026-02-14"),  # 29 days → 1_30, 1500 open
            ("INV-3", "1000", "0", "2025-11-01", "2025-12-01"),  # 104 days → over_90
        ]
        for number, amount, paid, issued, due in invoices:
            response = await client.post(
                f"/risk/accounts/{account_id}/invoices",
                json={"number": number, "amount": amount, "paid_amount": paid, "issued_on": issued, "due_on": due},
                headers=RISK_CHEN,
            )
            assert response.status_code == 201, response.text
        exposure = (await client.get(f"/risk/accounts/{account_id}/exposure", headers=RISK_CHEN)).json()
        assert exposure["aging"] == {
            "current": "3000.0000",
            "1_30": "1500.0000",
            "31_60": "0.0000",
            "61_90": "0.0000",
            "over_90": "1000.0000",
            "overdue": "2500.0000",
        }
        assert exposure["exposure"] == "5500.0000"
        assert exposure["utilisation_pct"] == "55.00"

        # Over 90 days overdue: the order is blocked with the reason, and waits for release.
        check = await client.post(
            f"/risk/accounts/{account_id}/credit-check",
            json={"amount": "1000", "order_reference": "SO-1"},
            headers=auth("account_manager", user_id="am-li"),
        )
        assert check.status_code == 201, check.text  # the order is booked
        body = check.json()
        assert body["decision"] == "block"
        assert [r["code"] for r in body["reasons"]] == ["overdue_beyond_limit"]
        assert body["order_status"] == "blocked"
        blocked = (await client.get("/risk/orders?status=blocked", headers=RISK_CHEN)).json()
        assert [o["id"] for o in blocked["items"]] == [body["order_id"]]

        # The old invoice gets paid: the next order passes with a warning for the remaining overdue amount.
        invoice_id = next(
            i["id"]
            for i in (await client.get(f"/risk/accounts/{account_id}/invoices", headers=RISK_CHEN)).json()["items"]
            if i["number"] == "INV-3"
        )
        paid = await client.post(
            f"/risk/invoices/{invoice_id}/payments", json={"amount": "1000", "paid_on": "2026-03-15"}, headers=RISK_CHEN
        )
        assert paid.json()["outstanding"] == "0.0000"
        check = (
            await client.post(
                f"/risk/accounts/{account_id}/credit-check",
                json={"amount": "1000", "order_reference": "SO-2", "record": False},
                headers=RISK_CHEN,
            )
        ).json()
        assert check["decision"] == "warn"
        assert [r["code"] for r in check["reasons"]] == ["overdue_receivables"]
        assert check["order_id"] is None

        # Only an authorised role releases, and only with a reason.
        release = f"/risk/orders/{body['order_id']}/release"
        assert (
            await client.post(release, json={"reason": "ok"}, headers=auth("account_manager", user_id="am-li"))
        ).status_code == 403
        assert (await client.post(release, json={"reason": ""}, headers=RISK_CHEN)).status_code == 422
        released = await client.post(release, json={"reason": "客户已承诺本周付款"}, headers=RISK_CHEN)
        assert released.status_code == 200
        assert (released.json()["status"], released.json()["released_by"]) == ("released", "risk-chen")
        assert (await client.post(release, json={"reason": "again"}, headers=RISK_CHEN)).status_code == 409
        exposure = (await client.get(f"/risk/accounts/{account_id}/exposure", headers=RISK_CHEN)).json()
        assert exposure["open_orders"] == "1000.0000"
        assert exposure["exposure"] == "5500.0000"  # 4500 receivables + the released order


async def test_assessment_derives_payment_behaviour_and_publishes_credit_assessed(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "美的集团")
        await client.post(
            f"/risk/accounts/{account_id}/invoices",
            json={"number": "A1", "amount": "1000", "issued_on": "2026-01-01", "due_on": "2026-02-13"},
            headers=RISK_CHEN,
        )  # 30 days past due on 2026-03-15
        response = await client.post(
            f"/risk/accounts/{account_id}/assessments",
            json={"debt_ratio": "0.5", "external_rating": "BBB"},
            headers=RISK_CHEN,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["inputs"]["days_past_due"] == "30"
        assert body["inputs"]["overdue_ratio"] == "1.0000"
        assert body["inputs"]["days_sales_outstanding"] == "90.0"  # 1000 open of 1000 billed in 90 days
        # dso 90 → 35·15, dpd 30 → 60·20, overdue ratio 1 → 0·15, debt 0.5 → 75·15, BBB → 65·15:
        # (525 + 1200 + 0 + 1125 + 975) / 80 = 47.81
        assert body["score"] == "47.81"
        assert body["grade"] == "D"
        events = await outbox_events(app, "risk.credit_assessed")
        assert [(e["account_id"], e["data"]["grade"], e["data"]["score"]) for e in events] == [
            (account_id, "D", "47.81")
        ]
        history = (await client.get(f"/risk/accounts/{account_id}/assessments", headers=RISK_CHEN)).json()
        assert history["total"] == 1
        bad = await client.post(
            f"/risk/accounts/{account_id}/assessments", json={"external_rating": "XYZ"}, headers=RISK_CHEN
        )
        assert bad.status_code == 422


async def test_account_managers_see_only_their_accounts_and_viewers_only_read(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        mine = await add_account(app, "李的客户", owner_id="am-li")
        theirs = await add_account(app, "张的客户", owner_id="am-zhang")
        for account_id in (mine, theirs):
            r = await client.post(
                f"/risk/accounts/{account_id}/limit-requests",
                json={"requested_limit": "100", "reason": "x"},
                headers=RISK_CHEN,
            )
            assert r.status_code == 201
        li = auth("account_manager", user_id="am-li")
        assert (await client.get(f"/risk/accounts/{mine}/credit", headers=li)).status_code == 200
        assert (await client.get(f"/risk/accounts/{theirs}/credit", headers=li)).status_code == 404
        assert (await client.get(f"/risk/views/accounts/{theirs}", headers=li)).status_code == 404
        listed = (await client.get("/risk/limit-requests", headers=li)).json()
        assert [r["account_id"] for r in listed["items"]] == [mine]
        # Account managers do not manage credit; viewers change nothing.
        assert (
            await client.post(
                f"/risk/accounts/{mine}/limit-requests", json={"requested_limit": "1", "reason": "x"}, headers=li
            )
        ).status_code == 403
        viewer = auth("viewer", user_id="viewer-zhao")
        assert (await client.get(f"/risk/accounts/{theirs}/credit", headers=viewer)).status_code == 200
        assert (
            await client.post(f"/risk/accounts/{mine}/credit-check", json={"amount": "1"}, headers=viewer)
        ).status_code == 403
        assert (await client.get("/risk/alerts")).status_code == 401


async def test_limit_request_with_an_idempotency_key_is_created_once(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "海尔")
        headers = {**RISK_CHEN, "Idempotency-Key": "req-1"}
        body = {"requested_limit": "500", "reason": "重试 retry"}
        first = await client.post(f"/risk/accounts/{account_id}/limit-requests", json=body, headers=headers)
        second = await client.post(f"/risk/accounts/{account_id}/limit-requests", json=body, headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json()["id"] == second.json()["id"]
        assert (await client.get("/risk/limit-requests", headers=RISK_CHEN)).json()["total"] == 1


async def test_a_stricter_scorecard_changes_the_grade_of_the_next_assessment(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "潍柴动力")
        # 80, 80 and 80 points → 80.00 (three factors: the minimum a grade needs)
        inputs = {"days_past_due": "10", "external_rating": "A", "days_sales_outstanding": "40"}
        first = (await client.post(f"/risk/accounts/{account_id}/assessments", json=inputs, headers=RISK_CHEN)).json()
        assert (first["score"], first["grade"], first["scorecard_version"]) == ("80.00", "A", 1)
        scorecard = (await client.get("/risk/scorecard", headers=RISK_CHEN)).json()
        scorecard["grade_cutoffs"][0]["min_score"] = "85"
        body = {"factors": scorecard["factors"], "grade_cutoffs": scorecard["grade_cutoffs"]}
        assert (await client.put("/risk/scorecard", json=body, headers=SUPERVISOR)).status_code == 403
        stale = await client.put("/risk/scorecard", json=body, headers={**RISK_CHEN, "If-Match": '"7"'})
        assert stale.status_code == 412
        put = await client.put("/risk/scorecard", json=body, headers={**RISK_CHEN, "If-Match": '"1"'})
        assert put.status_code == 200, put.text
        assert put.json()["version"] == 2
        second = (await client.post(f"/risk/accounts/{account_id}/assessments", json=inputs, headers=RISK_CHEN)).json()
        assert (second["score"], second["grade"], second["scorecard_version"]) == ("80.00", "B", 2)
        profile = (await client.get(f"/risk/accounts/{account_id}/credit", headers=RISK_CHEN)).json()
        assert (profile["grade"], profile["risk_class"]) == ("B", "moderate")


async def test_a_receivables_import_is_all_or_nothing_and_names_the_bad_row(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        first = await add_account(app, "国网")
        second = await add_account(app, "南网")
        row = {"amount": "100", "issued_on": "2026-03-01", "due_on": "2026-03-31"}
        bad = [
            {**row, "account_id": first, "number": "N-1"},
            {**row, "account_id": second, "number": "N-1"},
            {**row, "account_id": second, "number": "N-1"},  # duplicate number for that account
        ]
        refused = await client.post("/risk/invoices/import", json={"invoices": bad}, headers=RISK_CHEN)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "invoices.2"
        unknown = await client.post(
            "/risk/invoices/import",
            json={"invoices": [{**row, "account_id": "nope", "number": "X"}]},
            headers=RISK_CHEN,
        )
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["field"] == "invoices.0.account_id"
        assert (await client.get(f"/risk/accounts/{first}/invoices", headers=RISK_CHEN)).json()["total"] == 0
        service_key = auth("service", user_id="erp")
        imported = await client.post("/risk/invoices/import", json={"invoices": bad[:2]}, headers=service_key)
        assert imported.status_code == 201, imported.text
        assert imported.json() == {"imported": 2, "accounts": 2}
        exposure = (await client.get(f"/risk/accounts/{second}/exposure", headers=RISK_CHEN)).json()
        assert exposure["receivables"] == "100.0000"
        assert (
            await client.post(
                "/risk/invoices/import",
                json={"invoices": [{**row, "account_id": first, "number": "Z"}]},
                headers=auth("account_manager", user_id="am-li"),
            )
        ).status_code == 403
