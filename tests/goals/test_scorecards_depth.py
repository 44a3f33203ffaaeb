"""Scorecards (绩效考核) in depth: a Q4 scorecard from the Q4 parts by hand (no data → no score, each shortfall
once, action-plan completion, a rated qualitative KPI), role schemes kept through the API and validated, and
sign-off freezing a version with its history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.events import ComplaintAcknowledged, ComplaintClosed
from tests.goals.helpers import (
    LI,
    SUPERVISOR,
    approve,
    create_target,
    goals_app,
    record,
    register_account,
    register_team,
    sale,
)
from tests.support import running

SCHEME = {
    "components": [
        {"key": "revenue_attainment", "weight": "30", "cap": "120"},
        {"key": "margin_attainment", "weight": "20", "cap": "110"},
        {"key": "sla_compliance", "weight": "10"},
        {"key": "satisfaction", "weight": "10"},
        {"key": "at_risk_targets", "weight": "10"},
        {"key": "action_plan_completion", "weight": "10"},
        {"key": "teamwork", "kind": "qualitative", "label": "团队协作", "weight": "10"},
    ]
}


async def _split(client, target: dict[str, Any], into: str, parts: dict[str, str] | None = None) -> dict[str, str]:
    body: dict[str, Any] = {"into": into, **({"method": "manual", "parts": parts} if parts else {})}
    response = await client.post(f"/goals/targets/{target['id']}/split", json=body, headers=SUPERVISOR)
    assert response.status_code == 201, response.text
    return {p["period"]: p for p in response.json()}


async def _complaint(app, account: str, cid: str, when: datetime, *, within: bool, satisfaction: int | None) -> None:
    data = {"complaint_id": cid, "acknowledged_at": when, "within_sla": within}
    await app.state.consumer.process(ComplaintAcknowledged(source="complaints", account_id=account, data=data))
    if satisfaction is not None:
        closed = {"complaint_id": cid, "closed_at": when, "satisfaction": satisfaction}
        await app.state.consumer.process(ComplaintClosed(source="complaints", account_id=account, data=closed))


async def _item(client, target_id: str, title: str, due: str, status: str = "open") -> dict[str, Any]:
    body = {"title": title, "owner_id": "am-li", "due_date": due, "status": status}
    response = await client.post(f"/goals/targets/{target_id}/actions", json=body, headers=SUPERVISOR)
    assert response.status_code == 201, response.text
    return response.json()


async def _cards(client, period: str = "2026-Q4") -> dict[str, dict[str, Any]]:
    response = await client.get("/goals/scorecards", params={"period": period}, headers=SUPERVISOR)
    assert response.status_code == 200, response.text
    return {c["owner_id"]: c for c in response.json()}


async def test_a_q4_scorecard_is_computed_from_the_q4_parts_and_frozen_when_signed_off(make_database):
    app, clock = goals_app(await make_database("goals"), now=datetime(2026, 11, 5, 2, tzinfo=UTC))
    async with running(app) as client:
        await register_team(app)
        a = await register_account(app, name="客户A", owner_id="am-li")
        b = await register_account(app, name="客户B", owner_id="am-li")
        c = await register_account(app, name="客户C", owner_id="am-zhang")
        assert (
            await client.put("/goals/scorecard-schemes/account_manager", json=SCHEME, headers=SUPERVISOR)
        ).status_code == 201

        ra = await create_target(client, account_id=a, metric="revenue", period="2026", target_value="4000")
        q4 = (
            await _split(
                client, ra, "quarters", {"2026-Q1": "800", "2026-Q2": "900", "2026-Q3": "1000", "2026-Q4": "1300"}
            )
        )["2026-Q4"]
        await _split(client, q4, "months", {"2026-10": "400", "2026-11": "400", "2026-12": "500"})
        rb = await create_target(client, account_id=b, metric="revenue", period="2026", target_value="2000")
        await _split(client, rb, "quarters")  # even: 500 a quarter
        ga = await create_target(client, account_id=a, metric="gross_profit", period="2026", target_value="1000")
        await _split(client, ga, "quarters", {"2026-Q1": "200", "2026-Q2": "200", "2026-Q3": "200", "2026-Q4": "400"})
        gb = await create_target(client, account_id=b, metric="gross_profit", period="2026", target_value="600")
        await _split(client, gb, "quarters")  # 150 a quarter
        for target in (ra, rb, ga, gb):
            await approve(client, target["id"])

        # Li's action items due in Q4 (not cancelled): one done on time, one done late, one never done → 1 of 3.
        await _item(client, ra["id"], "季度回顾会", "2026-11-10", "done")  # done on 5 November
        late = await _item(client, ra["id"], "报价更新", "2026-12-01")
        await _item(client, ra["id"], "年底拜访", "2026-12-20")
        await _item(client, ra["id"], "取消的活动", "2026-11-20", "cancelled")
        await _item(client, ra["id"], "三季度的事", "2026-09-30")  # due in Q3: not this scorecard's
        clock.set(datetime(2026, 12, 5, 2, tzinfo=UTC))
        patched = await client.patch(f"/goals/actions/{late['id']}", json={"status": "done"}, headers=SUPERVISOR)
        assert patched.status_code == 200, patched.text

        clock.set(datetime(2027, 1, 15, 2, tzinfo=UTC))  # Q4 is over
        await record(
            client,
            sale(a, "2026-02-01", "5000", "1000"),  # Q1: not Q4's
            sale(a, "2026-10-08", "700", "400"),
            sale(a, "2026-11-08", "500", "300"),
            sale(b, "2026-12-08", "600", "450"),
            sale(c, "2026-12-08", "300", "100"),
        )
        await _complaint(app, a, "q4-1", datetime(2026, 10, 20, 2, tzinfo=UTC), within=True, satisfaction=4)
        await _complaint(app, b, "q4-2", datetime(2026, 12, 1, 2, tzinfo=UTC), within=False, satisfaction=None)
        await _complaint(app, a, "q3-1", datetime(2026, 9, 1, 2, tzinfo=UTC), within=False, satisfaction=1)
        await _complaint(app, c, "c-1", datetime(2026, 11, 1, 2, tzinfo=UTC), within=True, satisfaction=None)
        await _complaint(app, c, "c-2", datetime(2026, 11, 2, 2, tzinfo=UTC), within=False, satisfaction=None)
        rating = {"score": "90", "comment": "带教新人积极"}
        rated = await client.put("/goals/scorecards/am-li/2026-Q4/ratings/teamwork", json=rating, headers=SUPERVISOR)
        assert rated.status_code == 200, rated.text

        listed = await client.get("/goals/targets", params={"account_id": a, "metric": "revenue"}, headers=SUPERVISOR)
        q4_tree = {"2026-Q4", "2026-10", "2026-11", "2026-12"}
        short = sorted(
            t["period"]
            for t in listed.json()["items"]
            if t["period"] in q4_tree and float(t["tracking"]["actual"]) < float(t["target_value"])
        )
        assert short == ["2026-12", "2026-Q4"]  # one shortfall seen at two levels of A's goal tree
        li, zhang = (await _cards(client))["am-li"], (await _cards(client))["am-zhang"]
        # Revenue: Q4 parts 1,300 + 500 = 1,800 (the year pro rata would be 1,500), sold 1,200 + 600 → 100.
        # Margin: Q4 parts 400 + 150 = 550, made 500 + 150 = 650 → 118.18, capped at 110.
        # SLA 1 of 2 → 50; satisfaction 4 → 80; one shortfall (A's Q4 part and its December part both missed:
        # once) → 80; action plan 1 of 3 → 33.33; teamwork 90.
        # (30×100 + 20×110 + 10×50 + 10×80 + 10×80 + 10×33.33 + 10×90) / 100 = 85.33
        assert (li["revenue_target"], li["revenue_actual"], li["margin_target"], li["margin_actual"]) == (
            "1800.00",
            "1800.00",
            "550.00",
            "650.00",
        )
        assert {r["component"]: r["score"] for r in li["breakdown"]} == {
            "revenue_attainment": "100.00",
            "margin_attainment": "110.00",
            "sla_compliance": "50.00",
            "satisfaction": "80.00",
            "at_risk_targets": "80.00",
            "action_plan_completion": "33.33",
            "teamwork": "90.00",
        }
        assert (li["at_risk_targets"], li["action_items_due"], li["action_items_done_on_time"]) == (1, 3, 1)
        assert li["kpi_score"] == "85.33" and li["no_data_components"] == [] and li["status"] == "live"
        assert next(r for r in li["breakdown"] if r["component"] == "teamwork")["comment"] == "带教新人积极"
        # Zhang: no target, no rating, no action item, nothing closed — only SLA (1 of 2) has data: 50, not a
        # made-up 100 for the at-risk component.
        assert zhang["kpi_score"] == "50.00"
        assert zhang["no_data_components"] == [
            "revenue_attainment",
            "margin_attainment",
            "satisfaction",
            "at_risk_targets",
            "action_plan_completion",
            "teamwork",
        ]
        sla = next(r for r in zhang["breakdown"] if r["component"] == "sla_compliance")
        assert (sla["effective_weight"], zhang["at_risk_targets"]) == ("1.00", None)

        signed = await client.post(
            "/goals/scorecards/am-li/2026-Q4/sign-off", json={"note": "Q4 考核"}, headers=SUPERVISOR
        )
        assert signed.status_code == 201, signed.text
        assert (signed.json()["card_version"], signed.json()["kpi_score"], signed.json()["signed_by"]) == (
            1,
            "85.33",
            "sup-wang",
        )
        await record(client, sale(a, "2026-12-20", "100", "0"))  # late data for Q4
        frozen = (await _cards(client))["am-li"]
        assert (frozen["status"], frozen["kpi_score"], frozen["revenue_actual"]) == ("signed_off", "85.33", "1800.00")
        again = await client.post("/goals/scorecards/am-li/2026-Q4/sign-off", json={}, headers=SUPERVISOR)
        # Version 2 sees the new sale: revenue 1,900 / 1,800 = 105.56; the rest as before → 87.00.
        assert (again.json()["card_version"], again.json()["kpi_score"]) == (2, "87.00")
        history = await client.get("/goals/scorecards/am-li/history", params={"period": "2026-Q4"}, headers=LI)
        assert [(h["card_version"], h["kpi_score"]) for h in history.json()] == [(1, "85.33"), (2, "87.00")]
        assert (await _cards(client))["am-li"]["card_version"] == 2
        mine = await client.post("/goals/scorecards/am-li/2026-Q4/sign-off", json={}, headers=LI)
        assert mine.status_code == 403


def _with(change: dict[str, Any], index: int = 0) -> dict[str, Any]:
    components = [dict(c) for c in SCHEME["components"]]
    components[index] = {**components[index], **change}
    return {"components": components}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_with({"weight": "25"}), "components"),  # the weights add up to 95
        (_with({"weight": "-5"}), "components.0.weight"),
        (_with({"cap": "0"}), "components.0.cap"),
        (_with({"key": "charisma"}), "components.0"),  # not a computed component
        (_with({"key": "revenue_attainment"}, 1), "components.1.key"),  # twice
    ],
)
async def test_a_scheme_is_refused_unless_weights_add_up_to_100_and_caps_are_positive(sqlite_database, body, field):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        response = await client.put("/goals/scorecard-schemes/account_manager", json=body, headers=SUPERVISOR)
        assert response.status_code == 422, response.text
        assert any(str(e["field"]).startswith(field) for e in response.json()["errors"]), response.text


async def test_schemes_are_kept_per_role_and_only_supervisors_change_them(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        default = (await client.get("/goals/scorecard-schemes/supervisor", headers=LI)).json()
        assert default["source"] == "default"
        assert [(c["key"], c["weight"]) for c in default["components"]][:2] == [
            ("revenue_attainment", "35.00"),
            ("margin_attainment", "25.00"),
        ]
        assert (await client.put("/goals/scorecard-schemes/supervisor", json=SCHEME, headers=LI)).status_code == 403
        assert (
            await client.put("/goals/scorecard-schemes/supervisor", json=SCHEME, headers=SUPERVISOR)
        ).status_code == 201
        two = {"components": [{"key": "revenue_attainment", "weight": "40"}, {"key": "sla_compliance", "weight": "60"}]}
        changed = await client.put("/goals/scorecard-schemes/supervisor", json=two, headers=SUPERVISOR)
        assert changed.status_code == 200 and changed.json()["version"] == 2
        listed = {s["role"]: s["source"] for s in (await client.get("/goals/scorecard-schemes", headers=LI)).json()}
        assert listed == {"account_manager": "default", "supervisor": "stored"}
        bad_rating = await client.put(
            "/goals/scorecards/am-li/2026-Q4/ratings/sla_compliance",
            json={"score": "80", "comment": "x"},
            headers=SUPERVISOR,
        )
        assert bad_rating.status_code == 422  # computed from the data, not rated
        assert (await client.delete("/goals/scorecard-schemes/supervisor", headers=SUPERVISOR)).status_code == 204
        assert (await client.get("/goals/scorecard-schemes/supervisor", headers=LI)).json()["source"] == "default"
