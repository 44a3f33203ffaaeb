"""Scores, tiers, overrides, features from events and re-score jobs through the API (events via the consumer)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from services.scoring.jobs import run_timers
from shared.clock import FrozenClock
from shared.events import ActualsRecorded, ComplaintClosed, CreditAssessed
from tests.scoring.support import NOW, SIMPLE_MODEL, account_payload, outbox_events, running_with_people, scoring_app
from tests.support import auth

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")


async def publish_simple_model(client) -> int:
    created = await client.post("/scoring/models", json={"name": "简单模型", "definition": SIMPLE_MODEL}, headers=SUP)
    assert created.status_code == 201, created.text
    version = created.json()["version"]
    published = await client.post(f"/scoring/models/{version}/publish", headers=SUP)
    assert published.status_code == 200 and published.json()["status"] == "published"
    return version


async def rated_account(client, name: str = "宁德时代新能源科技股份有限公司", leadership: str = "5") -> str:
    created = await client.post("/accounts", json=account_payload(name, industry="新能源"), headers=SUP)
    account_id = created.json()["id"]
    rated = await client.put(
        f"/accounts/{account_id}/ratings",
        json={"industry_leadership": leadership, "rationale": "行业头部"},
        headers=SUP,
    )
    assert rated.status_code == 200
    return account_id


def actuals(account_id: str, revenue: str, period: str = "2026-11", **kw) -> ActualsRecorded:
    return ActualsRecorded(
        source="goals",
        account_id=account_id,
        data={
            "period": period,
            "revenue": revenue,
            "cost": "0",
            "gross_profit": str(Decimal(revenue) / 4),
            "by_product_line": {"工业网关": revenue},
        },
        **kw,
    )


async def test_actuals_move_the_tier_once_and_a_corrected_month_replaces_the_old_total(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        version = await publish_simple_model(client)
        account_id = await rated_account(client)
        consumer = app.state.consumer
        first = actuals(account_id, "6000000")
        assert await consumer.process(first)
        assert not await consumer.process(first)  # same event id: the inbox skips it
        assert await consumer.process(actuals(account_id, "6000000"))  # same totals again: nothing moves
        score = (await client.get(f"/accounts/{account_id}/score", headers=SUP)).json()
        await consumer.process(actuals(account_id, "9000000"))  # a correction of the same month replaces it
        corrected = (await client.get(f"/accounts/{account_id}/score", headers=SUP)).json()
        history = (await client.get(f"/accounts/{account_id}/tier-history", headers=SUP)).json()
        strategy = (await client.get(f"/accounts/{account_id}/strategy", headers=SUP)).json()
    # 60 × 60 % + 40 × 50 % = 56 → growth ; 60 × 90 % + 20 = 74 → key (not 60 × 100 % + 20 = 80 from adding)
    assert score["total"] == "56.00" and score["computed_tier"] == "growth" and score["model_version"] == version
    assert sum(Decimal(i["contribution"]) for i in score["indicators"]) == Decimal(score["total"])
    purchases = next(i for i in score["indicators"] if i["code"] == "annual_purchases")
    assert (purchases["raw"], purchases["normalised"], purchases["contribution"]) == ("6000000.0000", "60.00", "36.00")
    assert "growth" in score["explanation"] and "growth ≥ 30" in score["explanation"]
    assert corrected["total"] == "74.00" and corrected["tier"] == "key"
    assert [(h["old_tier"], h["new_tier"]) for h in history] == [
        ("growth", "key"),
        ("maintain", "growth"),
        (None, "maintain"),
    ]
    assert "actuals 2026-11 recorded" in history[0]["reason"]
    changed = await outbox_events(app, "accounts.tier_changed")
    assert [(e["data"]["old_tier"], e["data"]["new_tier"]) for e in changed] == [
        (None, "maintain"),
        ("maintain", "growth"),
        ("growth", "key"),
    ]
    assert "工业网关" in strategy["product_lines_bought"] and "工业网关" not in strategy["white_space"]
    assert "运维服务" in strategy["white_space"]


async def test_complaint_satisfaction_and_credit_grade_feed_the_relationship_dimension(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
        before = (await client.get(f"/accounts/{account_id}/score", headers=SUP)).json()
        await app.state.consumer.process(
            ComplaintClosed(
                source="complaints",
                account_id=account_id,
                data={"complaint_id": "c-1", "closed_at": NOW.isoformat(), "satisfaction": 5},
            )
        )
        await app.state.consumer.process(
            CreditAssessed(
                source="risk",
                account_id=account_id,
                data={"score": "88", "grade": "A", "risk_class": "low", "assessed_at": NOW.isoformat()},
            )
        )
        after = (await client.get(f"/accounts/{account_id}/score", headers=SUP)).json()

    def indicator(score, code):
        return next(i for i in score["indicators"] if i["code"] == code)

    assert indicator(before, "satisfaction")["raw"] is None and indicator(before, "credit_grade")["raw"] is None
    assert (
        indicator(after, "satisfaction")["raw"] == "5.00" and indicator(after, "satisfaction")["normalised"] == "100.00"
    )
    assert indicator(after, "credit_grade")["raw"] == "5" and indicator(after, "credit_grade")["normalised"] == "100.00"
    assert Decimal(after["total"]) > Decimal(before["total"])


async def test_an_expired_override_falls_back_to_the_computed_tier_with_history_and_audit(make_database):
    clock = FrozenClock(NOW)
    app = scoring_app(await make_database("scoring"), clock=clock)
    async with running_with_people(app) as client:
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
        by_manager = await client.post(
            f"/accounts/{account_id}/tier-override", json={"tier": "strategic", "reason": "x"}, headers=LI
        )
        in_past = await client.post(
            f"/accounts/{account_id}/tier-override",
            json={"tier": "strategic", "reason": "x", "expires_at": (NOW - timedelta(days=1)).isoformat()},
            headers=SUP,
        )
        override = await client.post(
            f"/accounts/{account_id}/tier-override",
            json={
                "tier": "strategic",
                "reason": "集团战略合作伙伴",
                "expires_at": (NOW + timedelta(days=1)).isoformat(),
            },
            headers=SUP,
        )
        during = (await client.get(f"/accounts/{account_id}", headers=SUP)).json()
        clock.advance(timedelta(days=2))
        await run_timers(app)
        after = (await client.get(f"/accounts/{account_id}", headers=SUP)).json()
        history = (await client.get(f"/accounts/{account_id}/tier-history", headers=SUP)).json()
        audit = (await client.get(f"/accounts/{account_id}/tier-overrides", headers=SUP)).json()
    assert by_manager.status_code == 403
    assert in_past.status_code == 422 and in_past.json()["field"] == "expires_at"
    assert override.status_code == 201 and override.json()["approved_by"] == "sup-wang"
    assert during["tier"] == "strategic" and during["overridden"] and during["computed_tier"] == "maintain"
    assert after["tier"] == "maintain" and not after["overridden"]
    assert [(h["new_tier"], h["overridden"]) for h in history] == [
        ("maintain", False),
        ("strategic", True),
        ("maintain", False),
    ]
    assert "override expired" in history[0]["reason"] and "集团战略合作伙伴" in history[1]["reason"]
    assert audit[0]["end_reason"] == "expired"
    changed = await outbox_events(app, "accounts.tier_changed")
    assert [e["data"]["new_tier"] for e in changed] == ["maintain", "strategic", "maintain"]
    assert changed[1]["data"]["overridden"] is True


async def test_full_rescore_job_shows_progress_and_publishing_a_model_rescores_everyone(make_database):
    app = scoring_app(await make_database("scoring"), rescore_chunk_size=2)
    async with running_with_people(app) as client:
        ids = [
            (await client.post("/accounts", json=account_payload(f"客户{i}"), headers=SUP)).json()["id"]
            for i in range(5)
        ]
        for i, account_id in enumerate(ids):
            await client.put(
                f"/accounts/{account_id}/ratings",
                json={"industry_leadership": str(2 * i), "rationale": "评估"},
                headers=SUP,
            )
        await app.state.consumer.process(actuals(ids[4], "10000000"))
        started = await client.post("/scoring/jobs/rescore", headers=SUP)
        job = (await client.get(f"/scoring/jobs/{started.json()['id']}", headers=SUP)).json()
        await publish_simple_model(client)
        listed = (await client.get("/accounts", params={"sort": "-score"}, headers=SUP)).json()["items"]
        moved = (await client.get(f"/accounts/{listed[0]['id']}/tier-history", headers=SUP)).json()[0]
        forbidden = await client.post("/scoring/jobs/rescore", headers=LI)
    assert started.status_code == 202 and started.json()["status"] == "queued"
    assert job["status"] == "succeeded" and job["total"] == job["done"] == 5 and job["progress_pct"] == "100.0"
    assert job["tier_changes"] == 0  # nothing changed since each account was scored on its own
    # Under the simple model: 60 × 100 % + 40 × 80 % = 92 for the top account; 40 × 60 % = 24 for the next
    assert [(a["score"], a["tier"], a["model_version"]) for a in listed[:2]] == [
        ("92.00", "strategic", 2),
        ("24.00", "maintain", 2),
    ]
    assert moved["reason"] == "full re-score: score 92.00 under model v2 → strategic"
    assert moved["changed_by"] == "rescore-job"
    assert forbidden.status_code == 403


async def test_scheduled_rescore_runs_when_its_stored_timer_is_due(sqlite_database):
    clock = FrozenClock(NOW)
    app = scoring_app(
        await sqlite_database("scoring"), clock=clock, scheduled_rescore=True, rescore_interval_seconds=3600
    )
    async with running_with_people(app) as client:
        await client.post("/accounts", json=account_payload(), headers=SUP)
        await run_timers(app)
        await run_timers(app)  # not due again yet
        clock.advance(timedelta(hours=2))
        await run_timers(app)
        async with app.state.db.transaction() as session:
            from sqlalchemy import select

            from services.scoring.scores.models import RescoreJob

            jobs = (await session.execute(select(RescoreJob).order_by(RescoreJob.created_at))).scalars().all()
    assert [(j.trigger, j.status, j.done) for j in jobs] == [("schedule", "succeeded", 1), ("schedule", "succeeded", 1)]
    assert jobs[1].created_at - jobs[0].created_at == timedelta(hours=2)


async def test_the_top_percent_rule_in_a_full_rescore_makes_exactly_the_top_accounts_key(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    model = {
        **SIMPLE_MODEL,
        "tiers": {**SIMPLE_MODEL["tiers"], "top_percent": {"percent": "20", "by": "annual_purchases"}},
    }
    async with running_with_people(app) as client:
        ids = []
        for i in range(10):
            account_id = await rated_account(client, f"客户{i:02d}", leadership="10")  # 40 points each from ratings
            await app.state.consumer.process(actuals(account_id, str(1_000_000 * (i + 1))))
            ids.append(account_id)
        created = await client.post("/scoring/models", json={"name": "前20%", "definition": model}, headers=SUP)
        await client.post(f"/scoring/models/{created.json()['version']}/publish", headers=SUP)
        tiers = {a["name"]: a["tier"] for a in (await client.get("/accounts", headers=SUP)).json()["items"]}
        score = (await client.get(f"/accounts/{ids[9]}/score", headers=SUP)).json()
    # Scores: 40 + 6 × (i + 1) → 46 … 100; thresholds alone would make 客户06–09 strategic and 客户03–05 key.
    assert tiers == {
        **{f"客户{i:02d}": "growth" for i in range(8)},
        "客户08": "strategic",
        "客户09": "strategic",
    }
    assert "top-20% rule" in score["explanation"]
