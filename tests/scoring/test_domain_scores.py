"""Scores and tiers' domain functions on a real SQLite session (no HTTP): re-scoring, overrides and their expiry,
features from events, model versions and re-score jobs with their state tables."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from itertools import product

import pytest
from sqlalchemy import func, select

from services.scoring.models import platform
from services.scoring.registry import service as registry
from services.scoring.registry.schemas import AccountCreate
from services.scoring.scores import feature_store, model_versions, portfolio, rescore_jobs, tiers
from services.scoring.scores.consistency import rescore_account
from services.scoring.scores.models import AccountScore, RescoreJob, ScoringModelVersion, TierChange, TierOverride
from services.scoring.scores.schemas import ModelCreate, OverrideCreate
from services.scoring.scores.service import explain_score
from services.scoring.scoring_model import ModelDefinition
from shared.errors import InvalidTransition, NotFound
from shared.events.catalogue import ActualsRecordedData
from tests.scoring.support import NOW, SIMPLE_MODEL, ZONE, account_payload, actor

SUP = actor()

# What the tests hold the state tables to (restated here, so a change to either table fails a test).
MODEL_VERSION_MOVES = {
    "draft": {"published"},
    "published": {"retired"},
    "retired": set(),
}
RESCORE_JOB_MOVES = {
    "queued": {"running", "failed"},
    "running": {"succeeded", "failed"},
    "succeeded": set(),
    "failed": set(),
}


async def registered(domain, session, name: str = "宁德时代", **fields):
    body = AccountCreate.model_validate(account_payload(name, **fields))
    return await registry.register_account(
        session, platform, publisher=domain.publisher, body=body, actor=SUP, at=domain.at()
    )


async def simple_model(domain, session, *, publish: bool = True) -> ScoringModelVersion:
    body = ModelCreate(name="简单模型", definition=ModelDefinition.model_validate(SIMPLE_MODEL))
    model = await model_versions.create_model(session, body=body, actor=SUP, now=domain.now())
    if publish:
        await model_versions.publish_model(session, model=model, actor=SUP, now=domain.now())
    return model


async def record_purchases(domain, session, account_id: str, revenue: str, reported_after: timedelta = timedelta(0)):
    data = ActualsRecordedData(
        period="2026-11",
        revenue=Decimal(revenue),
        cost=Decimal(0),
        gross_profit=Decimal(revenue) / 4,
        by_product_line={"工业网关": Decimal(revenue)},
    )
    stored = await feature_store.record_actuals(
        session,
        account_id=account_id,
        period="2026-11",
        data=data,
        reported_at=NOW + reported_after,
        report_id=str(uuid.uuid4()),
    )
    await feature_store.refresh_features(session, account_ids=[account_id], at=domain.at())
    return stored


# ---------------------------------------------------------------- re-scoring one account


async def test_rescoring_stores_an_explained_score_and_moves_the_tier_once(domain):
    async with domain.db.transaction() as session:
        await simple_model(domain, session)
        account = await registered(domain, session)
        await record_purchases(domain, session, account.id, "9000000")
        for _ in range(2):  # the second pass finds nothing to move
            await rescore_account(
                session, platform, publisher=domain.publisher, account_id=account.id, at=domain.at(), reason="test"
            )
        stored = await session.get(AccountScore, account.id)
        explained = await explain_score(session, account=account, now=domain.now())
        history = (await session.execute(select(TierChange.old_tier, TierChange.new_tier))).all()
    # 60 × 90 % = 54 → growth (thresholds 80 / 60 / 30)
    assert stored is not None and stored.total == Decimal("54.00") and stored.computed_tier == "growth"
    assert account.tier == "growth" and account.score == Decimal("54.00") and account.model_version == 2
    assert sum(Decimal(i["contribution"]) for i in explained.indicators) == explained.total
    assert history == [(None, "maintain"), ("maintain", "growth")]
    assert [e["data"]["new_tier"] for e in await domain.events("accounts.tier_changed")] == ["maintain", "growth"]


async def test_without_a_published_model_nothing_is_scored_and_there_is_no_score_to_explain(domain):
    async with domain.db.transaction() as session:
        (await session.get(ScoringModelVersion, 1)).status = "retired"
        account = await registered(domain, session)
        assert (
            await rescore_account(
                session, platform, publisher=domain.publisher, account_id=account.id, at=domain.at(), reason="x"
            )
            is None
        )
        with pytest.raises(NotFound, match="not been scored"):
            await explain_score(session, account=account, now=NOW)
    assert account.tier is None and account.score is None
    assert [e["type"] for e in await domain.events()] == ["accounts.registered"]


async def test_an_older_actuals_report_arriving_late_does_not_replace_a_newer_one(domain):
    async with domain.db.transaction() as session:
        account = await registered(domain, session)
        assert await record_purchases(domain, session, account.id, "800", reported_after=timedelta(hours=2))
        assert not await record_purchases(domain, session, account.id, "100", reported_after=timedelta(hours=1))
        features = await feature_store.features_for(session, account_id=account.id, now=domain.now())
        assert await feature_store.record_credit_grade(
            session, account_id=account.id, grade="B", assessed_at=NOW, now=NOW
        )
        assert not await feature_store.record_credit_grade(
            session, account_id=account.id, grade="E", assessed_at=NOW - timedelta(days=1), now=NOW
        )
    assert features.annual_purchases == Decimal(800) and features.product_lines == ["工业网关"]
    assert features.credit_grade == "B"


# ---------------------------------------------------------------- overrides


async def test_an_override_wins_until_it_expires_then_the_timer_falls_back_to_the_computed_tier(domain):
    async with domain.db.transaction() as session:
        account = await registered(domain, session)
        override = await tiers.set_override(
            session,
            platform,
            publisher=domain.publisher,
            account=account,
            body=OverrideCreate(tier="strategic", reason="集团战略", expires_at=NOW + timedelta(days=1)),
            actor=SUP,
            at=domain.at(),
        )
        assert account.tier == "strategic" and account.computed_tier == "maintain"
        assert await tiers.expire_overrides(session, platform, publisher=domain.publisher, now=NOW) == 0
        later = NOW + timedelta(days=2)
        assert await tiers.expire_overrides(session, platform, publisher=domain.publisher, now=later) == 1
        assert await tiers.expire_overrides(session, platform, publisher=domain.publisher, now=later) == 0
        history = await tiers.tier_history(session, account_id=account.id)
    assert account.tier == "maintain"
    assert (override.ended_at, override.ended_by, override.end_reason) == (NOW + timedelta(days=1), "system", "expired")
    assert [(h.new_tier, h.overridden, h.changed_by) for h in history] == [
        ("maintain", False, "system"),
        ("strategic", True, "sup-wang"),
        ("maintain", False, "sup-wang"),
    ]
    assert "override expired" in history[0].reason
    changed = await domain.events("accounts.tier_changed")
    assert [(e["data"]["new_tier"], e["data"]["overridden"]) for e in changed] == [
        ("maintain", False),
        ("strategic", True),
        ("maintain", False),
    ]


async def test_a_new_override_replaces_the_active_one_and_revoking_needs_one_in_force(domain):
    async with domain.db.transaction() as session:
        account = await registered(domain, session)
        for tier in ("key", "growth"):
            await tiers.set_override(
                session,
                platform,
                publisher=domain.publisher,
                account=account,
                body=OverrideCreate(tier=tier, reason=f"设为{tier}"),
                actor=SUP,
                at=domain.at(),
            )
        await tiers.revoke_override(session, platform, publisher=domain.publisher, account=account, actor=SUP, now=NOW)
        with pytest.raises(NotFound):
            await tiers.revoke_override(
                session, platform, publisher=domain.publisher, account=account, actor=SUP, now=NOW
            )
        audit = await tiers.list_overrides(session, account_id=account.id)
        active = await session.scalar(
            select(func.count()).select_from(TierOverride).where(TierOverride.ended_at.is_(None))
        )
    assert sorted(o.end_reason for o in audit) == ["replaced", "revoked"] and active == 0
    assert account.tier == "maintain"


# ---------------------------------------------------------------- model versions: draft → published → retired


def test_the_model_version_table_is_exactly_the_documented_lifecycle():
    assert {status: set(moves) for status, moves in model_versions.MODEL_TRANSITIONS.items()} == MODEL_VERSION_MOVES


@pytest.mark.parametrize("status", list(MODEL_VERSION_MOVES))
async def test_only_the_listed_status_may_be_published(domain, status):
    async with domain.db.transaction() as session:
        model = await simple_model(domain, session, publish=False)
        model.status = status
        if "published" in MODEL_VERSION_MOVES[status]:
            await model_versions.publish_model(session, model=model, actor=SUP, now=domain.now())
            assert model.status == "published" and model.published_by == "sup-wang"
        else:
            with pytest.raises(InvalidTransition):
                await model_versions.publish_model(session, model=model, actor=SUP, now=domain.now())
            assert model.status == status


@pytest.mark.parametrize("status", [s for s in MODEL_VERSION_MOVES if s != "retired"])
async def test_publishing_the_next_version_retires_only_the_listed_status(domain, status):
    async with domain.db.transaction() as session:
        default = await session.get(ScoringModelVersion, 1)
        default.status = status
        await simple_model(domain, session)
        await session.refresh(default)
    assert default.status == ("retired" if "retired" in MODEL_VERSION_MOVES[status] else status)
    # Nothing ever moves back to draft: a draft is only ever created.
    assert all("draft" not in moves for moves in MODEL_VERSION_MOVES.values())


# ---------------------------------------------------------------- re-score jobs: queued → running → succeeded | failed


def test_the_rescore_job_table_is_exactly_the_documented_lifecycle():
    assert {status: set(moves) for status, moves in rescore_jobs.JOB_TRANSITIONS.items()} == RESCORE_JOB_MOVES
    assert rescore_jobs.OPEN_STATUSES == ("queued", "running")


@pytest.mark.parametrize(("current", "target"), list(product(RESCORE_JOB_MOVES, RESCORE_JOB_MOVES)))
def test_a_job_makes_exactly_the_listed_moves(current, target):
    job = RescoreJob(id="job-1", status=current)
    if target in RESCORE_JOB_MOVES[current]:
        rescore_jobs.move_job(job, target)
        assert job.status == target
    else:
        with pytest.raises(InvalidTransition) as refused:
            rescore_jobs.move_job(job, target)
        assert job.status == current and refused.value.extra["allowed"] == sorted(RESCORE_JOB_MOVES[current])


async def queued_job(domain) -> str:
    async with domain.db.transaction() as session:
        await registered(domain, session, "甲")
        await registered(domain, session, "乙")
        job, new = await rescore_jobs.request_rescore(session, trigger="manual", actor_id="sup-wang", now=NOW)
        again, new_again = await rescore_jobs.request_rescore(session, trigger="manual", actor_id="x", now=NOW)
    assert new and not new_again and again.id == job.id  # one open job at a time
    return job.id


async def run(domain, job_id: str) -> RescoreJob:
    return await rescore_jobs.run_rescore_job(
        domain.db, platform, publisher=domain.publisher, job_id=job_id, now=domain.now, zone=ZONE, chunk_size=1
    )


async def test_a_queued_job_runs_through_running_to_succeeded_with_progress(domain):
    job = await run(domain, await queued_job(domain))
    assert (job.status, job.done, job.total, job.tier_changes) == ("succeeded", 2, 2, 0)
    assert job.started_at == NOW and job.finished_at == NOW and job.model_version == 1


@pytest.mark.parametrize("status", ["running", "succeeded", "failed"])
async def test_a_job_that_is_not_queued_cannot_be_run_again(domain, status):
    job_id = await queued_job(domain)
    async with domain.db.transaction() as session:
        (await session.get(RescoreJob, job_id)).status = status
    with pytest.raises(InvalidTransition):
        await run(domain, job_id)
    async with domain.db.transaction() as session:
        assert (await session.get(RescoreJob, job_id)).status == status


@pytest.mark.parametrize(("broken", "failed_from"), [("portfolio_rows", "queued"), ("score_portfolio", "running")])
async def test_a_job_that_breaks_is_failed_with_the_error(domain, monkeypatch, broken, failed_from):
    job_id = await queued_job(domain)
    started = []

    async def explode(*args, **kwargs):
        async with domain.db.transaction(write=False) as session:  # a reader beside the job's own transaction
            started.append((await session.get(RescoreJob, job_id)).status)
        raise RuntimeError("disk full")

    monkeypatch.setattr(rescore_jobs, broken, explode)
    with pytest.raises(RuntimeError):
        await run(domain, job_id)
    async with domain.db.transaction() as session:
        job = await session.get(RescoreJob, job_id)
    assert started == [failed_from] and job.status == "failed" and job.error == "RuntimeError: disk full"


async def test_the_scheduled_rescore_is_due_by_its_stored_timer_and_failed_runs_do_not_count(domain):
    async def due(at) -> bool:
        async with domain.db.transaction() as session:
            return await rescore_jobs.scheduled_rescore_due(session, now=at, interval_seconds=3600, zone=ZONE)

    assert not await due(NOW)  # nothing to score yet
    job_id = await queued_job(domain)
    assert not await due(NOW + timedelta(minutes=59))
    async with domain.db.transaction() as session:
        (await session.get(RescoreJob, job_id)).status = "failed"
    assert await due(NOW + timedelta(minutes=1))
    async with domain.db.transaction() as session:
        (await session.get(RescoreJob, job_id)).status = "succeeded"
    assert await due(NOW + timedelta(hours=1))


async def test_a_bulk_rescore_publishes_one_tier_changed_per_move_and_respects_overrides(domain):
    async with domain.db.transaction() as session:
        await simple_model(domain, session)
        rich = await registered(domain, session, "大客户")
        held = await registered(domain, session, "保持")
        await record_purchases(domain, session, rich.id, "9000000")
        await tiers.set_override(
            session,
            platform,
            publisher=domain.publisher,
            account=held,
            body=OverrideCreate(tier="key", reason="保持重点"),
            actor=SUP,
            at=domain.at(),
        )
        before = len(await domain.events("accounts.tier_changed", session=session))
        moved = await portfolio.rescore_accounts(
            session, platform, publisher=domain.publisher, account_ids=[rich.id, held.id], at=domain.at(), reason="导入"
        )
        events = (await domain.events("accounts.tier_changed", session=session))[before:]
    assert moved == 1 and [(e["account_id"], e["data"]["new_tier"]) for e in events] == [(rich.id, "growth")]
    assert (
        events[0]["source"] == "scoring" and "导入: score 54.00 under model v2 → growth" == events[0]["data"]["reason"]
    )
