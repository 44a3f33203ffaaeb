"""Layered engagement over HTTP (cadence, overdue list) and the two views the gateway composes."""

from __future__ import annotations

from datetime import timedelta

from tests.scoring.support import NOW, account_payload, running_with_people, scoring_app
from tests.support import auth

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
ZHANG = auth("account_manager", user_id="am-zhang")


def day(days_ago: int) -> str:
    return (NOW - timedelta(days=days_ago)).date().isoformat()


async def strategic_account(client, name: str, owner: str = "am-li") -> str:
    account_id = (await client.post("/accounts", json=account_payload(name, owner_id=owner), headers=SUP)).json()["id"]
    r = await client.post(
        f"/accounts/{account_id}/tier-override", json={"tier": "strategic", "reason": "集团级战略客户"}, headers=SUP
    )
    assert r.status_code == 201
    return account_id


async def test_an_account_without_executive_contact_in_its_tier_period_is_listed_overdue(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        account_id = await strategic_account(client, "比亚迪股份有限公司")
        for level, kind, ago in (
            ("decision", "business_review", 10),
            ("execution", "visit", 3),
            ("executive", "executive_meeting", 120),
        ):
            r = await client.post(
                f"/accounts/{account_id}/engagements",
                json={
                    "kind": kind,
                    "level": level,
                    "occurred_on": day(ago),
                    "participants": ["王总", "am-li"],
                    "notes": "季度回顾",
                },
                headers=LI,
            )
            assert r.status_code == 201, r.text
        overdue = (await client.get("/scoring/engagements/overdue", headers=SUP)).json()["items"]
        status = (await client.get(f"/accounts/{account_id}/engagement-status", headers=LI)).json()
        zhang_sees = (await client.get("/scoring/engagements/overdue", headers=ZHANG)).json()["items"]
        future = await client.post(
            f"/accounts/{account_id}/engagements",
            json={"kind": "visit", "level": "executive", "occurred_on": day(-3)},
            headers=LI,
        )
        await client.post(
            f"/accounts/{account_id}/engagements",
            json={"kind": "executive_meeting", "level": "executive", "occurred_on": day(1)},
            headers=LI,
        )
        after = (await client.get("/scoring/engagements/overdue", headers=SUP)).json()["items"]
    assert [item["account_id"] for item in overdue] == [account_id]
    executive = next(level for level in overdue[0]["levels"] if level["level"] == "executive")
    assert executive["overdue"] and executive["every_days"] == 90 and executive["days_overdue"] == 30
    assert status["overdue"] and [lv["overdue"] for lv in status["levels"]] == [True, False, False]
    assert zhang_sees == []
    assert future.status_code == 422 and future.json()["field"] == "occurred_on"
    assert after == []


async def test_cadence_policy_can_be_replaced_by_the_supervisor(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
        await client.post(
            f"/accounts/{account_id}/engagements",
            json={"kind": "call", "level": "execution", "occurred_on": day(60)},
            headers=SUP,
        )
        before = (await client.get("/scoring/engagements/overdue", headers=SUP)).json()["items"]
        refused = await client.put("/scoring/cadence", json={"rules": []}, headers=LI)
        r = await client.put(
            "/scoring/cadence",
            json={"rules": [{"tier": "maintain", "level": "execution", "every_days": 30}]},
            headers=SUP,
        )
        policy = (await client.get("/scoring/cadence", headers=LI)).json()
        after = (await client.get("/scoring/engagements/overdue", headers=SUP)).json()["items"]
    assert before == []  # maintain: an execution-level contact every 90 days by default
    assert refused.status_code == 403 and r.status_code == 200
    assert policy == {"rules": [{"tier": "maintain", "level": "execution", "every_days": 30}]}
    assert [item["account_id"] for item in after] == [account_id]


async def test_account_view_answers_profile_tier_score_strategy_white_space_and_engagement(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        account_id = await strategic_account(client, "美的集团股份有限公司")
        await client.post(
            f"/accounts/{account_id}/contacts",
            json={"name": "方总", "title": "董事长", "level": "executive"},
            headers=LI,
        )
        view = await client.get(f"/scoring/views/accounts/{account_id}", headers=LI)
        hidden = await client.get(f"/scoring/views/accounts/{account_id}", headers=ZHANG)
    assert view.status_code == 200 and hidden.status_code == 404
    body = view.json()
    assert body["name"] == "美的集团股份有限公司" and body["team"]["owner_id"] == "am-li"
    assert body["contacts"][0]["name"] == "方总"
    assert body["tier"]["code"] == "strategic" and body["tier"]["overridden"] and body["tier"]["computed"] == "maintain"
    assert body["score"]["total"] == body["profile"]["score"]
    assert body["white_space"] == ["工业网关", "智能传感器", "PLC控制器", "SCADA软件", "工业云平台", "运维服务"]
    assert body["strategy"]["code"] in {"strategic_partnership", "maintain_efficiently"}
    assert body["engagement"]["overdue"] is True


async def test_portfolio_view_shows_distribution_overdue_and_movers_of_the_callers_book(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        await strategic_account(client, "李的客户", owner="am-li")
        await client.post("/accounts", json=account_payload("张的客户", owner_id="am-zhang"), headers=SUP)
        board = (await client.get("/scoring/views/portfolio", headers=SUP)).json()
        li_board = (await client.get("/scoring/views/portfolio", headers=LI)).json()
        movers = (await client.get("/scoring/tiers/movers", params={"since": NOW.isoformat()}, headers=SUP)).json()
    counts = {t["code"]: t["count"] for t in board["distribution"]["tiers"]}
    assert counts == {"strategic": 1, "key": 0, "growth": 0, "maintain": 1} and board["distribution"]["total"] == 2
    assert {t["code"]: t["count"] for t in li_board["distribution"]["tiers"]}["maintain"] == 0
    assert board["overdue_engagements"]["count"] == 2 and li_board["overdue_engagements"]["count"] == 1
    assert [m["account_name"] for m in li_board["recent_movers"]["items"]] == ["李的客户", "李的客户"]
    assert (movers[0]["account_name"], movers[0]["direction"]) == ("张的客户", "new")
    assert {m["direction"] for m in movers} == {"new", "up"}
