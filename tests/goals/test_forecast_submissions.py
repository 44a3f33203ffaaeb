"""Forecasts like a sales team's (Salesforce Forecasts): commit / best case / pipeline per account manager and
period, beside quota (the period's decomposed targets) and the system's run-rate and seasonal forecasts, a
supervisor's adjustment kept apart from the manager's figures, the history of every submission, and a team roll-up
per currency. Figures by hand; the clock is 16 August 2026 (Q3: July over, 15 of August's 31 days)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway.policy import allowed
from tests.goals.helpers import (
    LI,
    SUPERVISOR,
    ZHANG,
    approve,
    create_target,
    goals_app,
    record,
    register_account,
    register_team,
    sale,
)
from tests.support import auth, if_match, register_users, running

CHEN = auth("account_manager", user_id="am-chen")
ADMIN = auth("admin", user_id="u-admin")
AUG_16 = datetime(2026, 8, 16, 2, tzinfo=UTC)  # 10:00 in Shanghai


async def _submit(client, who: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post("/goals/forecasts", json=body, headers=who)
    assert response.status_code == 201, response.text
    assert response.headers["ETag"] == f'"{response.json()["version"]}"'
    return dict(response.json())


async def _adjust(client, forecast: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = await client.post(
        f"/goals/forecasts/{forecast['id']}/adjust", json=body, headers={**SUPERVISOR, **if_match(forecast)}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _world(app, client) -> dict[str, str]:
    """Li owns a and b (CNY), Zhang owns c (CNY), Chen owns d (USD); quotas and sales as the test computes them."""
    await register_team(app)
    await register_users(app, [("am-chen", ["account_manager"])])
    a = await register_account(app, name="客户A", owner_id="am-li")
    b = await register_account(app, name="客户B", owner_id="am-li")
    c = await register_account(app, name="客户C", owner_id="am-zhang")
    d = await register_account(app, name="客户D", owner_id="am-chen")
    put = await client.put(f"/goals/accounts/{d}/reporting-currency", json={"currency": "USD"}, headers=SUPERVISOR)
    assert put.status_code in (200, 201), put.text
    # Li's Q3 quota: a's Q3 part 1000 + b's Q3 part 500 (even) = 1500; the year and Q4 do not count.
    ra = await create_target(client, account_id=a, metric="revenue", period="2026", target_value="4000")
    parts = {"2026-Q1": "800", "2026-Q2": "900", "2026-Q3": "1000", "2026-Q4": "1300"}
    split = {"into": "quarters", "method": "manual", "parts": parts}
    assert (await client.post(f"/goals/targets/{ra['id']}/split", json=split, headers=SUPERVISOR)).status_code == 201
    rb = await create_target(client, account_id=b, metric="revenue", period="2026", target_value="2000")
    assert (
        await client.post(f"/goals/targets/{rb['id']}/split", json={"into": "quarters"}, headers=SUPERVISOR)
    ).status_code == 201
    # Zhang's Q3 quota: the explicit team target 700 wins over c's Q3 part (300); a draft counts for nothing.
    team = await create_target(client, owner_id="am-zhang", metric="revenue", period="2026-Q3", target_value="700")
    rc = await create_target(client, account_id=c, metric="revenue", period="2026-Q3", target_value="300")
    await create_target(client, account_id=b, metric="gross_profit", period="2026-Q3", target_value="9999")
    for target in (ra, rb, team, rc):
        await approve(client, target["id"])
    # Li's book: last year's Q3 100 / 200 / 300 (the seasonal shape); this year July 300 + 60, August 1–15 90.
    await record(
        client,
        sale(a, "2025-07-10", "100"),
        sale(a, "2025-08-10", "200"),
        sale(a, "2025-09-10", "300"),
        sale(a, "2026-07-10", "300"),
        sale(b, "2026-07-20", "60"),
        sale(a, "2026-08-05", "90"),
    )
    return {"a": a, "b": b, "c": c, "d": d}


async def test_forecasts_beside_quota_and_system_forecasts_adjusted_rolled_up_and_kept(make_database):
    app, clock = goals_app(await make_database("goals"), now=AUG_16)
    async with running(app) as client:
        await _world(app, client)
        first = await _submit(
            client, LI, period="2026-Q3", commit="1000", best_case="1400", pipeline="2000", note="首报"
        )
        # Actual 450 over 1 + 15/31 elapsed months: run-rate 450 ÷ (46/31) × 3 = 909.78; seasonal: elapsed share of
        # last year's shape (100·1 + 200·15/31) ÷ 600 = 61/186, so 450 ÷ 61/186 = 1372.13.
        assert {k: first[k] for k in ("quota", "actual_to_date", "run_rate_forecast", "seasonal_forecast")} == {
            "quota": "1500.00",
            "actual_to_date": "450.00",
            "run_rate_forecast": "909.78",
            "seasonal_forecast": "1372.13",
        }
        assert (first["currency"], first["month"], first["revision"], first["warnings"]) == ("CNY", "2026-08", 1, [])

        clock.set(datetime(2026, 8, 16, 3, tzinfo=UTC))
        second = await _submit(client, LI, period="2026-Q3", commit="1100", best_case="1300", pipeline="1250")
        assert second["revision"] == 2 and second["current"] is True
        assert second["warnings"] == ["submitted best case 1300.00 is above pipeline 1250.00"]  # kept, flagged
        old = (await client.get(f"/goals/forecasts/{first['id']}", headers=LI)).json()
        assert (old["current"], old["superseded_by"], old["commit"]) == (False, second["id"], "1000.00")

        zhang = await _submit(
            client, SUPERVISOR, owner_id="am-zhang", period="2026-Q3", commit="500", best_case="600", pipeline="900"
        )
        assert (zhang["submitted_by"], zhang["quota"], zhang["actual_to_date"]) == ("sup-wang", "700.00", "0.00")
        assert zhang["seasonal_forecast"] is None  # no sales last year: no seasonal shape
        chen = await _submit(client, CHEN, period="2026-Q3", commit="200", best_case="300", pipeline="400")
        assert (chen["currency"], chen["quota"]) == ("USD", None)

        clock.set(datetime(2026, 8, 16, 4, tzinfo=UTC))
        adjusted = await _adjust(client, second, commit="950", reason="大单推迟到四季度")
        assert {k: adjusted[k] for k in ("commit", "adjusted_commit", "best_case", "adjusted_best_case")} == {
            "commit": "1100.00",  # the manager's figure stays
            "adjusted_commit": "950.00",
            "best_case": "1300.00",
            "adjusted_best_case": "1300.00",  # not adjusted: the manager's
        }
        assert (adjusted["adjustment"]["adjusted_by"], adjusted["adjustment"]["reason"]) == (
            "sup-wang",
            "大单推迟到四季度",
        )
        audit = (await client.get("/goals/audit", params={"action": "forecast.adjusted"}, headers=ADMIN)).json()
        (entry,) = audit["items"]
        assert (entry["object_id"], entry["before"], entry["after"]) == (
            second["id"],
            {"commit": "1100", "reason": None},
            {"commit": "950", "reason": "大单推迟到四季度"},
        )

        team = (await client.get("/goals/forecasts/team", params={"period": "2026-Q3"}, headers=SUPERVISOR)).json()
        cny, usd = team["totals"]
        assert cny == {
            "currency": "CNY",
            "owners": ["am-li", "am-zhang"],
            "commit": "1600.00",  # 1100 + 500
            "best_case": "1900.00",  # 1300 + 600
            "pipeline": "2150.00",  # 1250 + 900
            "adjusted_commit": "1450.00",  # 950 + 500
            "adjusted_best_case": "1900.00",
            "adjusted_pipeline": "2150.00",
            "quota": "2200.00",  # 1500 + 700
            "members_without_quota": 0,
        }
        assert (usd["currency"], usd["owners"], usd["commit"], usd["quota"]) == ("USD", ["am-chen"], "200.00", None)

        # September: a new month's forecast supersedes August's, which stays August's forecast (with its adjustment).
        clock.set(datetime(2026, 9, 2, 2, tzinfo=UTC))
        september = await _submit(client, LI, period="2026-Q3", commit="1200", best_case="1500", pipeline="1800")
        assert (september["month"], september["revision"], september["adjustment"]) == ("2026-09", 1, None)
        now = (await client.get("/goals/forecasts", params={"owner_id": "am-li"}, headers=SUPERVISOR)).json()
        august = (await client.get("/goals/forecasts", params={"month": "2026-08"}, headers=LI)).json()
        assert [f["id"] for f in now["items"]] == [september["id"]]
        assert [(f["id"], f["adjusted_commit"]) for f in august["items"]] == [(second["id"], "950.00")]

        history = (await client.get("/goals/forecasts/history", params={"period": "2026-Q3"}, headers=LI)).json()
        assert [(h["kind"], h["month"], h["by"], h["commit"], h["best_case"], h["note"]) for h in history] == [
            ("submission", "2026-08", "am-li", "1000.00", "1400.00", "首报"),
            ("submission", "2026-08", "am-li", "1100.00", "1300.00", None),
            ("adjustment", "2026-08", "sup-wang", "950.00", None, "大单推迟到四季度"),
            ("submission", "2026-09", "am-li", "1200.00", "1500.00", None),
        ]


async def test_who_may_submit_adjust_and_see_and_what_is_refused(make_database):
    app, clock = goals_app(await make_database("goals"), now=AUG_16)
    async with running(app) as client:
        await _world(app, client)
        li = await _submit(client, LI, period="2026-Q3", commit="1", best_case="2", pipeline="3")
        own = await _submit(client, SUPERVISOR, period="2027", commit="1", best_case="2", pipeline="3")  # next year
        url = f"/goals/forecasts/{li['id']}/adjust"
        figures = {"commit": "1", "best_case": "2", "pipeline": "3"}
        cases: list[tuple[str, dict[str, str], str, dict[str, Any], int, str | None]] = [
            ("POST", LI, "/goals/forecasts", {**figures, "period": "2026-08"}, 422, "period"),  # a month
            ("POST", LI, "/goals/forecasts", {**figures, "period": "2026-Q2"}, 422, "period"),  # over
            ("POST", LI, "/goals/forecasts", {**figures, "period": "2027-Q1"}, 422, "period"),  # beyond the next
            ("POST", LI, "/goals/forecasts", {**figures, "period": "2026-Q3", "commit": "-1"}, 422, "commit"),
            ("POST", LI, "/goals/forecasts", {**figures, "period": "2026-Q3", "version": 1}, 422, "version"),
            ("POST", CHEN, "/goals/forecasts", {**figures, "period": "2026-Q3", "currency": "CNY"}, 422, "currency"),
            ("POST", LI, "/goals/forecasts", {**figures, "period": "2026-Q3", "owner_id": "am-zhang"}, 403, None),
            (
                "POST",
                SUPERVISOR,
                "/goals/forecasts",
                {**figures, "period": "2026-Q3", "owner_id": "x"},
                422,
                "owner_id",
            ),
            (
                "POST",
                auth("risk_officer", user_id="risk-1"),
                "/goals/forecasts",
                {**figures, "period": "2026-Q3"},
                403,
                None,
            ),
            ("POST", LI, url, {"commit": "5", "reason": "x"}, 403, None),  # only supervisors adjust
            ("POST", SUPERVISOR, url, {"reason": "nothing adjusted", "if_match": "1"}, 422, "commit"),
            ("POST", SUPERVISOR, url, {"commit": "5", "reason": "stale", "if_match": "7"}, 412, None),
            (
                "POST",
                SUPERVISOR,
                f"/goals/forecasts/{own['id']}/adjust",
                {"commit": "5", "reason": "x", "if_match": "1"},
                403,
                None,
            ),
            ("GET", ZHANG, f"/goals/forecasts/{li['id']}", {}, 404, None),  # another's: as unknown
            ("GET", ZHANG, "/goals/forecasts/history?period=2026-Q3&owner_id=am-li", {}, 404, None),
        ]
        for method, who, path, body, status, field in cases:
            headers = dict(who)
            if "if_match" in body:
                headers["If-Match"] = f'"{body.pop("if_match")}"'
            response = await client.request(method, path, json=body or None, headers=headers)
            assert response.status_code == status, (method, path, body, response.text)
            if field is not None:
                assert field in response.text, (path, body, response.text)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as raw:
            missing = await raw.post(url, json={"commit": "5", "reason": "x"}, headers=SUPERVISOR)
            assert missing.status_code == 428  # If-Match first
        assert (await client.get("/goals/forecasts", headers=ZHANG)).json()["total"] == 0  # sees only their own
        assert (await client.get("/goals/forecasts", headers=SUPERVISOR)).json()["total"] == 2

        clock.set(datetime(2026, 8, 17, 2, tzinfo=UTC))
        newer = await _submit(client, LI, period="2026-Q3", commit="1", best_case="2", pipeline="3")
        stale = await client.post(url, json={"commit": "5", "reason": "x"}, headers={**SUPERVISOR, **if_match(2)})
        assert stale.status_code == 409 and newer["id"] in stale.text  # superseded: adjust the one in force


@pytest.mark.parametrize(
    ("role", "method", "path", "may"),
    [
        ("account_manager", "POST", "/api/v1/goals/forecasts", True),
        ("supervisor", "POST", "/api/v1/goals/forecasts", True),
        ("risk_officer", "POST", "/api/v1/goals/forecasts", False),
        ("service", "POST", "/api/v1/goals/forecasts", False),
        ("account_manager", "POST", "/api/v1/goals/forecasts/f-1/adjust", False),
        ("supervisor", "POST", "/api/v1/goals/forecasts/f-1/adjust", True),
        ("viewer", "GET", "/api/v1/goals/forecasts/team", True),
    ],
)
def test_the_gateway_lets_people_submit_and_only_supervisors_adjust(role: str, method: str, path: str, may: bool):
    assert allowed(method, path, frozenset({role})) is may
