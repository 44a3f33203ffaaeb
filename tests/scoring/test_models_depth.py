"""Scoring models in depth: drafts changed and deleted, the preview of a draft's tier moves (checked against a hand
computation), publish and rollback returning their re-score job, the top-N % rule and assumed values explained in
the score, and the demo model keeping key accounts to the top 5–10 % (FAQ 1)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from kam.demo import DemoContext
from kam.demo import scoring as demo
from services.scoring.models import audit_log
from services.scoring.scoring_model import TopPercentRule, top_rule_standing
from shared.clock import SystemClock
from shared.events import ActualsRecorded
from tests.scoring.support import CAST, SIMPLE_MODEL, account_payload, running_with_people, scoring_app
from tests.support import auth

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")


async def rated_account(client: httpx.AsyncClient, name: str, leadership: str) -> str:
    created = await client.post("/accounts", json=account_payload(name), headers=SUP)
    assert created.status_code == 201, created.text
    account_id = created.json()["id"]
    rated = await client.put(
        f"/accounts/{account_id}/ratings", json={"industry_leadership": leadership, "rationale": "评估"}, headers=SUP
    )
    assert rated.status_code == 200, rated.text
    return account_id


def purchases(account_id: str, revenue: str) -> ActualsRecorded:
    return ActualsRecorded(
        source="goals",
        account_id=account_id,
        data={"period": "2026-11", "revenue": revenue, "cost": "0", "gross_profit": "0", "by_product_line": {}},
    )


async def tiers_of(client: httpx.AsyncClient) -> dict[str, str]:
    return {a["name"]: a["tier"] for a in (await client.get("/accounts", headers=SUP)).json()["items"]}


async def audit_actions(app: Any) -> list[tuple[str, str, Any, Any]]:
    async with app.state.db.transaction() as session:
        rows = await session.execute(
            select(audit_log.c.action, audit_log.c.object_id, audit_log.c.before, audit_log.c.after)
            .where(audit_log.c.object_type == "scoring_model")
            .order_by(audit_log.c.id)
        )
        return [tuple(r) for r in rows]


# ---------------------------------------------------------------- drafts: change and delete


async def test_a_draft_is_changed_with_if_match_and_deleted_while_history_is_refused(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        created = await client.post("/scoring/models", json={"name": "草稿", "definition": SIMPLE_MODEL}, headers=SUP)
        version = created.json()["version"]
        assert created.status_code == 201 and created.headers["etag"] == '"1"'
        assert created.headers["location"] == f"/scoring/models/{version}"
        path = f"/scoring/models/{version}"
        bare = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        async with bare:
            without = await bare.patch(path, json={"name": "x"}, headers=SUP)
        changed_definition = copy.deepcopy(SIMPLE_MODEL)
        changed_definition["tiers"]["thresholds"]["growth"] = "25"
        changed = await client.patch(
            path, json={"name": "草稿二", "definition": changed_definition}, headers={**SUP, "If-Match": '"1"'}
        )
        stale = await client.patch(path, json={"name": "旧"}, headers={**SUP, "If-Match": '"1"'})
        bad = copy.deepcopy(SIMPLE_MODEL)
        bad["indicators"][0]["weight"] = "50"
        invalid = await client.patch(path, json={"definition": bad}, headers={**SUP, "If-Match": '"2"'})
        unknown = await client.patch(path, json={"colour": "red"}, headers={**SUP, "If-Match": '"2"'})
        by_manager = await client.patch(path, json={"name": "李"}, headers={**LI, "If-Match": '"2"'})
        read = await client.get(path, headers=SUP)
        published_patch = await client.patch("/scoring/models/1", json={"name": "x"}, headers={**SUP, "If-Match": "*"})
        published_delete = await client.delete("/scoring/models/1", headers={**SUP, "If-Match": "*"})
        deleted = await client.delete(path, params={"reason": "重复"}, headers={**SUP, "If-Match": '"2"'})
        gone = await client.get(path, headers=SUP)
        again = await client.post("/scoring/models", json={"name": "新草稿", "definition": SIMPLE_MODEL}, headers=SUP)
    assert without.status_code == 428
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"' and changed.json()["name"] == "草稿二"
    assert changed.json()["definition"]["tiers"]["thresholds"]["growth"] == "25"
    assert stale.status_code == 412
    assert invalid.status_code == 422 and invalid.json()["field"] == "indicators"
    assert unknown.status_code == 422
    assert by_manager.status_code == 403
    assert read.headers["etag"] == '"2"' and read.json()["revision"] == 2
    assert published_patch.status_code == 409 and published_delete.status_code == 409
    assert deleted.status_code == 204 and gone.status_code == 404
    # A deleted draft's number is never given again.
    assert again.json()["version"] == version + 1
    actions = await audit_actions(app)
    updated = next(a for a in actions if a[0] == "scoring_model.draft_updated")
    assert updated[1] == str(version) and updated[2]["name"] == "草稿" and updated[3]["name"] == "草稿二"
    removed = next(a for a in actions if a[0] == "scoring_model.draft_deleted")
    assert removed[1] == str(version) and removed[2]["definition"]["tiers"]["thresholds"]["growth"] == "25"
    assert removed[3] == {"reason": "重复"}


# ---------------------------------------------------------------- preview, publish and rollback


DRAFT: dict[str, Any] = {
    "indicators": [
        SIMPLE_MODEL["indicators"][0],
        {"code": "industry_leadership", "weight": "40", "normalisation": {"method": "bounds", "min": "0", "max": "8"}},
    ],
    "tiers": {"thresholds": {"strategic": "38", "key": "30", "growth": "15"}},
}


async def test_the_preview_lists_exactly_the_hand_computed_moves_and_publish_and_rollback_return_their_job(
    make_database,
):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        simple = await client.post("/scoring/models", json={"name": "简单", "definition": SIMPLE_MODEL}, headers=SUP)
        await client.post(f"/scoring/models/{simple.json()['version']}/publish", headers=SUP)
        # No purchases: the score is 40 × leadership / 10 under the simple model (thresholds 80 / 60 / 30).
        leadership = {"甲": "9", "乙": "7", "丙": "5", "丁": "2", "戊": "10"}
        ids = {name: await rated_account(client, name, lead) for name, lead in leadership.items()}
        before = await tiers_of(client)
        draft = (await client.post("/scoring/models", json={"name": "新", "definition": DRAFT}, headers=SUP)).json()
        preview_path = f"/scoring/models/{draft['version']}/preview"
        first = await client.get(preview_path, params={"limit": 2}, headers=SUP)
        second = await client.get(preview_path, params={"limit": 2, "offset": 2}, headers=SUP)
        forbidden = await client.get(preview_path, headers=LI)
        untouched = await tiers_of(client)
        published = await client.post(f"/scoring/models/{draft['version']}/publish", headers=SUP)
        job = (await client.get(published.headers["location"], headers=SUP)).json()
        after = await tiers_of(client)
        rollback = await client.post(f"/scoring/models/{simple.json()['version']}/rollback", headers=SUP)
        rolled_job = (await client.get(rollback.headers["location"], headers=SUP)).json()
        restored = await tiers_of(client)
        models = {m["version"]: m for m in (await client.get("/scoring/models", headers=SUP)).json()}
        to_draft = await client.post("/scoring/models", json={"name": "d", "definition": DRAFT}, headers=SUP)
        refused_draft = await client.post(f"/scoring/models/{to_draft.json()['version']}/rollback", headers=SUP)
        refused_current = await client.post(f"/scoring/models/{rollback.json()['version']}/rollback", headers=SUP)
    assert before == {"甲": "growth", "乙": "maintain", "丙": "maintain", "丁": "maintain", "戊": "growth"}
    # By hand, the draft (leadership over 0–8, thresholds 38 / 30 / 15): 甲 40 strategic, 乙 35 key, 丙 25 growth,
    # 丁 10 maintain (stays), 戊 40 strategic. Biggest moves first: tiers moved, then points.
    expected = [
        ("乙", "maintain", "28.00", "key", "35.00", "7.00", 2),
        ("甲", "growth", "36.00", "strategic", "40.00", "4.00", 2),
        ("戊", "growth", "40.00", "strategic", "40.00", "0.00", 2),
        ("丙", "maintain", "20.00", "growth", "25.00", "5.00", 1),
    ]
    rows = first.json()["items"] + second.json()["items"]
    assert [
        (
            r["name"],
            r["current_tier"],
            r["current_score"],
            r["draft_tier"],
            r["draft_score"],
            r["score_delta"],
            r["tier_steps"],
        )
        for r in rows
    ] == expected
    assert {r["account_id"] for r in rows} == {ids[n] for n in ("甲", "乙", "丙", "戊")}
    assert all(r["direction"] == "up" and r["overridden"] is False for r in rows)
    body = first.json()
    assert (body["total"], body["changed"], body["accounts"], body["limit"]) == (4, 4, 5, 2)
    assert [(m["from_tier"], m["to_tier"], m["count"]) for m in body["moves"]] == [
        ("growth", "strategic", 2),
        ("maintain", "key", 1),
        ("maintain", "growth", 1),
    ]
    assert body["moves"][0]["label_zh"] == "成长客户 → 战略客户"
    assert {d["tier"]: (d["current"], d["draft"]) for d in body["distribution"]} == {
        "strategic": (0, 2),
        "key": (0, 1),
        "growth": (2, 1),
        "maintain": (3, 1),
    }
    assert forbidden.status_code == 403
    assert untouched == before  # the preview writes nothing
    # Publishing gives the job it queued; the full re-score then lands exactly on the previewed tiers.
    assert published.status_code == 200 and published.json()["status"] == "published"
    queued = published.json()["rescore_job"]
    assert published.headers["location"] == queued["location"] == f"/scoring/jobs/{queued['id']}"
    assert queued["trigger"] == "model_published" and job["status"] == "succeeded"
    assert after == {"甲": "strategic", "乙": "key", "丙": "growth", "丁": "maintain", "戊": "strategic"}
    # The rollback publishes a copy of the simple model as a new version; the history stays as it was.
    assert rollback.status_code == 201, rollback.text
    copy_ = rollback.json()
    assert copy_["status"] == "published" and copy_["copied_from"] == simple.json()["version"]
    assert copy_["definition"] == models[simple.json()["version"]]["definition"]
    assert rollback.headers["location"] == copy_["rescore_job"]["location"] and rolled_job["status"] == "succeeded"
    assert restored == before
    assert [models[v]["status"] for v in sorted(models)] == ["retired", "retired", "retired", "published"]
    assert refused_draft.status_code == 409 and refused_current.status_code == 409
    actions = await audit_actions(app)
    assert ("scoring_model.rolled_back", str(copy_["version"])) in [(a[0], a[1]) for a in actions]
    rolled = next(a for a in actions if a[0] == "scoring_model.rolled_back")
    assert rolled[2] == {"published_version": draft["version"]}
    assert rolled[3] == {"published_version": copy_["version"], "copied_from": simple.json()["version"]}


# ---------------------------------------------------------------- the top-N % rule and assumed values explained


def test_the_top_rule_standing_names_the_rank_of_the_population_in_both_languages():
    rule = TopPercentRule(percent=Decimal("10"), by="annual_purchases")
    capped = top_rule_standing(rule, threshold_tier="key", tier="growth", rank=5, population=35)
    assert capped.effect == "capped" and capped.admitted == 4
    assert capped.label_en == "capped at growth: rank 5 of 35 by annual purchases (top 10% = 4 accounts)"
    assert capped.label_zh == "限为成长客户: 按年采购额排名第5/35(前10%即4家)"
    raised = top_rule_standing(rule, threshold_tier="growth", tier="key", rank=4, population=35)
    assert raised.effect == "raised" and raised.label_en.startswith("raised to key: rank 4 of 35")
    inside = top_rule_standing(rule, threshold_tier="strategic", tier="strategic", rank=1, population=35)
    assert inside.effect == "inside" and inside.label_en.startswith("within the top 10%: rank 1 of 35")


TOP_MODEL: dict[str, Any] = {
    "indicators": [
        SIMPLE_MODEL["indicators"][0],
        {"code": "industry_leadership", "weight": "30", "normalisation": {"method": "bounds", "min": "0", "max": "10"}},
        {
            "code": "satisfaction",
            "weight": "10",
            "normalisation": {"method": "bounds", "min": "1", "max": "5", "missing": "3"},
        },
    ],
    "tiers": {
        "thresholds": {"strategic": "80", "key": "55", "growth": "30"},
        "top_percent": {"percent": "25", "by": "annual_purchases"},
    },
}


async def test_the_score_explains_the_top_rule_with_rank_of_population_and_flags_assumed_values(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        created = await client.post("/scoring/models", json={"name": "前25%", "definition": TOP_MODEL}, headers=SUP)
        await client.post(f"/scoring/models/{created.json()['version']}/publish", headers=SUP)
        # (purchases, leadership) → 60 × purchases / 10M + 3 × leadership + 5 (satisfaction assumed 3 → 50 %)
        spec = {"大": ("5000000", "0"), "强": ("4000000", "10"), "中": ("2000000", "5"), "小": ("1000000", "5")}
        ids = {}
        for name, (revenue, lead) in spec.items():
            ids[name] = await rated_account(client, name, lead)
            await app.state.consumer.process(purchases(ids[name], revenue))
        await client.post("/scoring/jobs/rescore", headers=SUP)
        scores = {name: (await client.get(f"/accounts/{i}/score", headers=SUP)).json() for name, i in ids.items()}
    assert {n: (s["total"], s["computed_tier"]) for n, s in scores.items()} == {
        "大": ("35.00", "key"),  # thresholds say growth; first by purchases: raised to key
        "强": ("59.00", "growth"),  # thresholds say key; second of four: capped at growth
        "中": ("32.00", "growth"),
        "小": ("26.00", "maintain"),
    }
    rules = {n: s["tier_rule"] for n, s in scores.items()}
    assert {n: (r["effect"], r["rank"], r["population"], r["admitted"]) for n, r in rules.items()} == {
        "大": ("raised", 1, 4, 1),
        "强": ("capped", 2, 4, 1),
        "中": ("outside", 3, 4, 1),
        "小": ("outside", 4, 4, 1),
    }
    capped = "capped at growth: rank 2 of 4 by annual purchases (top 25% = 1 account)"
    assert rules["强"]["label_en"] == capped
    assert rules["强"]["label_zh"] == "限为成长客户: 按年采购额排名第2/4(前25%即1家)"
    assert capped in scores["强"]["explanation"] and "top-25% rule" in scores["强"]["explanation"]
    indicators = {i["code"]: i for i in scores["强"]["indicators"]}
    assert indicators["satisfaction"]["assumed"] is True and indicators["satisfaction"]["raw"] is None
    assert indicators["satisfaction"]["assumed_value"] == "3"
    assert "no complaint rating or survey answer" in indicators["satisfaction"]["assumed_reason"]
    assert "按模型缺省值 3 计" in indicators["satisfaction"]["assumed_reason"]
    assert indicators["industry_leadership"]["assumed"] is False
    assert indicators["annual_purchases"]["assumed"] is False


# ---------------------------------------------------------------- the demo model: key accounts are the top 5–10 %


async def test_the_demo_portfolio_keeps_key_accounts_to_the_top_five_to_ten_percent(sqlite_database):
    # The loader dates engagements from today's date: the app runs on the real clock.
    app = scoring_app(await sqlite_database("scoring"), clock=SystemClock())  # type: ignore[arg-type]
    people = [*CAST, ("admin", ["admin"])]
    async with running_with_people(app, headers=auth("admin", user_id="admin"), people=people) as client:
        summary = await demo.load(DemoContext(clients={"scoring": client}))
        distribution = (await client.get("/scoring/tiers/distribution")).json()
    counts = {t["code"]: t["count"] for t in distribution["tiers"]}
    active = sum(counts.values())
    key_accounts = counts["strategic"] + counts["key"]
    low, high = demo.KEY_ACCOUNT_SHARE
    assert active == len(demo.ACCOUNTS) - len(demo.FORMER) and summary["accounts"] == len(demo.ACCOUNTS)
    assert low <= Decimal(key_accounts * 100) / active <= high, counts
