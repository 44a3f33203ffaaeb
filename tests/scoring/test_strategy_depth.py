"""Strategy in depth: the value × potential quadrant follows the measured purchases (a 28 % fall is never high
growth, whatever the self-reported expectation says), its cut-offs are configurable (per tier, If-Match, audited),
the strategy rules are a stored, validated table (an edit changes the recommendation), and a former account is won
back, never served at lower cost."""

from __future__ import annotations

from decimal import Decimal as D

from services.scoring.strategy import default_rules, recommend_strategy
from shared.events import ActualsRecorded
from tests.scoring.support import account_payload, running_with_people, scoring_app
from tests.support import auth, if_match

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
RATINGS = {"industry_leadership": "5", "product_fit": "10", "expected_growth_pct": "30", "rationale": "客户自报高增长"}


def _actuals(account_id: str, period: str, revenue: str) -> ActualsRecorded:
    return ActualsRecorded(
        source="goals",
        account_id=account_id,
        data={
            "period": period,
            "revenue": revenue,
            "cost": "0",
            "gross_profit": str(D(revenue) / 4),
            "by_product_line": {"工业网关": revenue},
        },
    )


async def _falling_account(app, client, name: str, **fields) -> str:
    """An account that says it grows 30 % a year while its purchases fell from 10m to 7.2m (−28 %)."""
    body = account_payload(name, ratings=RATINGS, **fields)
    created = await client.post("/accounts", json=body, headers=SUP)
    assert created.status_code == 201, created.text
    account_id = created.json()["id"]
    await app.state.consumer.process(_actuals(account_id, "2025-10", "10000000"))
    await app.state.consumer.process(_actuals(account_id, "2026-10", "7200000"))
    return account_id


def test_the_default_table_lets_measured_growth_decide_over_the_expectation():
    falling = recommend_strategy(
        tier="growth", industry_leadership=D(4), revenue_growth=D(-28), expected_growth=D(30), missing_lines=[]
    )
    unmeasured = recommend_strategy(
        tier="growth", industry_leadership=D(4), revenue_growth=None, expected_growth=D(30), missing_lines=[]
    )
    former = recommend_strategy(
        tier="key",
        industry_leadership=D(9),
        revenue_growth=D(40),
        expected_growth=None,
        missing_lines=["工业网关"],
        status="former",
    )
    assert falling.code == "maintain_efficiently"  # not fast penetration on a 30 % that the purchases contradict
    assert unmeasured.code == "fast_penetration"  # nothing measured: the expectation is all there is
    assert (
        former.code == "win_back" and former.title_zh == "赢回策略" and not any("交叉销售" in a for a in former.actions)
    )
    assert default_rules().rules[0].code == "win_back"


async def test_falling_purchases_are_never_high_potential_and_a_cut_off_moves_the_account(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        account_id = await _falling_account(app, client, "杭州下滑测试有限公司")
        strategy = (await client.get(f"/accounts/{account_id}/strategy", headers=LI)).json()
        growth, quadrant = strategy["growth"], strategy["quadrant"]
        assert D(growth["measured_pct"]) == D("-28.00") and D(growth["expected_pct"]) == D(30)
        assert growth["declining"] is True and growth["high_growth"] is False
        assert quadrant["potential"]["level"] == "low"
        assert quadrant["code"] in {"cash_cow", "ordinary"}
        assert strategy["code"] != "fast_penetration"
        # The self-reported 30 % counted no higher than the measured −28 %: the expectation indicator scores 0.
        [potential] = quadrant["potential"]["components"]
        assert potential["code"] == "potential" and D(potential["value"]) < 50
        value = D(quadrant["value"]["score"])
        tier = strategy["tier"]

        # Moving the value cut-off of the account's tier below its value score makes it high value.
        current = await client.get("/scoring/strategy/quadrant", headers=LI)
        assert current.json()["version"] == 0 and current.json()["is_default"] is True
        config = current.json()["config"]
        config["tier_cutoffs"] = {tier: {"value": str(max(value - 1, D(0))), "potential": "99"}}
        forbidden = await client.put("/scoring/strategy/quadrant", json=config, headers={**LI, **if_match(current)})
        assert forbidden.status_code == 403
        stale = await client.put("/scoring/strategy/quadrant", json=config, headers={**SUP, "If-Match": '"7"'})
        assert stale.status_code == 412
        changed = await client.put("/scoring/strategy/quadrant", json=config, headers={**SUP, **if_match(current)})
        assert changed.status_code == 200, changed.text
        assert changed.json()["version"] == 1 and changed.headers["ETag"] == '"1"'
        moved = (await client.get(f"/accounts/{account_id}/strategy", headers=LI)).json()["quadrant"]
        assert moved["code"] == "cash_cow" and moved["value"]["level"] == "high"
        assert moved["cutoffs_from"] == f"tier:{tier}" and moved["config_version"] == 1

        unknown = {**config, "value": {"components": [{"source": "indicator", "code": "shoe_size", "weight": "1"}]}}
        refused = await client.put("/scoring/strategy/quadrant", json=unknown, headers={**SUP, **if_match(changed)})
        assert refused.status_code == 422 and refused.json()["field"] == "value.components.0.code"
        audit = await client.get(
            "/scoring/audit", params={"action": "strategy.quadrant_changed"}, headers=auth("admin")
        )
    [entry] = audit.json()["items"]
    assert entry["actor_id"] == "sup-wang" and entry["after"]["version"] == 1


async def test_a_rule_edit_changes_the_recommendation_and_former_accounts_are_won_back(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        account_id = await _falling_account(app, client, "宁波规则测试有限公司")
        former_id = await _falling_account(app, client, "温州流失客户有限公司", status="former")
        before = (await client.get(f"/accounts/{account_id}/strategy", headers=SUP)).json()
        won_back = (await client.get(f"/accounts/{former_id}/strategy", headers=SUP)).json()
        assert won_back["code"] == "win_back" and won_back["title_en"] == "Win-back strategy"
        assert won_back["rule"]["position"] == 1 and "status former" in won_back["reason"]

        table = await client.get("/scoring/strategy/rules", headers=SUP)
        rules = table.json()["rules"]
        quadrant = before["quadrant"]["code"]
        declining = {
            "code": "stop_the_decline",
            "title": {"zh": "止跌回稳", "en": "Stop the decline"},
            "actions": [{"zh": "高层会谈, 找出采购下滑原因", "en": "Executive meeting on why purchases fall"}],
            "cross_sell": 1,
            "when": {"quadrants": [quadrant], "signals": ["declining"]},
        }
        edited = [rules[0], declining, *rules[1:]]
        saved = await client.put("/scoring/strategy/rules", json={"rules": edited}, headers={**SUP, **if_match(table)})
        assert saved.status_code == 200, saved.text
        after = (await client.get(f"/accounts/{account_id}/strategy", headers=SUP)).json()
        assert before["code"] != "stop_the_decline"
        assert after["code"] == "stop_the_decline" and after["title_zh"] == "止跌回稳"
        assert after["actions_en"][0] == "Executive meeting on why purchases fall"
        assert after["actions"][1].startswith("交叉销售: ") and after["rule"] == {
            "position": 2,
            "code": "stop_the_decline",
            "rules_version": 1,
        }
        assert "declining purchases" in after["reason"] and "-28.00" in after["reason"]

        # Former accounts must reach a win-back rule: a table whose first rule serves everyone is refused.
        lower_cost = {**rules[-1], "code": "low_cost_for_everyone"}
        refused = await client.put(
            "/scoring/strategy/rules", json={"rules": [lower_cost, *rules]}, headers={**SUP, **if_match(saved)}
        )
        assert refused.status_code == 422 and refused.json()["field"] == "rules.0"
        uncovered = await client.put(
            "/scoring/strategy/rules", json={"rules": rules[:-1]}, headers={**SUP, **if_match(saved)}
        )
        assert uncovered.status_code == 422 and uncovered.json()["field"] == "rules"
        assert (await client.get(f"/accounts/{former_id}/strategy", headers=SUP)).json()["code"] == "win_back"
