"""Scores and tiers in the database: models, features from events, re-scoring, overrides, tier history, jobs."""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.feature_store import features_for
from services.scoring.features import indicator_values
from services.scoring.model_versions import active_model
from services.scoring.models import Account, AccountFeatures, AccountScore, RescoreJob, TierChange, TierOverride
from services.scoring.scoring_model import (
    ModelDefinition,
    ScoreResult,
    apply_top_rule,
    assign_tiers,
    build_populations,
    compile_model,
    parse_definition,
    percentile_indicators,
    score_account,
    tier_for_score,
    top_count,
)
from services.scoring.tiers import apply_tier
from shared.bus.outbox import OUTBOX_FLAG
from shared.db import Database, PlatformTables
from shared.errors import NotFound
from shared.events import AccountTierChanged

log = logging.getLogger("kam.scoring")

FEATURE_COLUMNS = (
    AccountFeatures.annual_purchases,
    AccountFeatures.annual_profit,
    AccountFeatures.previous_year_purchases,
    AccountFeatures.active_months,
    AccountFeatures.satisfaction_avg,
    AccountFeatures.escalations,
    AccountFeatures.credit_grade,
    AccountFeatures.highest_contact_level,
)
ACCOUNT_COLUMNS = (
    Account.id,
    Account.tier,
    Account.computed_tier,
    Account.score,
    Account.cooperation_since,
    Account.industry_leadership,
    Account.reference_value,
    Account.channel_value,
    Account.product_fit,
    Account.expected_growth_pct,
)


def _upsert(session: AsyncSession, table: Any) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


# ---------------------------------------------------------------- scoring one account


def _row_dict(columns: Sequence[Any], row: Sequence[Any]) -> dict[str, Any]:
    return {c.key: v for c, v in zip(columns, row, strict=True)}


async def portfolio_profit(session: AsyncSession) -> Decimal:
    """Gross profit of the last 12 months over all active accounts (for the profit share)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(AccountFeatures.annual_profit), 0))
        .join(Account, Account.id == AccountFeatures.account_id)
        .where(Account.status != "former")
    )
    return Decimal(str(total or 0))


async def _portfolio_values(session: AsyncSession, *, today: date, profit: Decimal) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(*ACCOUNT_COLUMNS, *FEATURE_COLUMNS)
            .outerjoin(AccountFeatures, AccountFeatures.account_id == Account.id)
            .where(Account.status != "former")
        )
    ).all()
    n = len(ACCOUNT_COLUMNS)
    return [
        indicator_values(
            account=_row_dict(ACCOUNT_COLUMNS, row[:n]),
            features=_row_dict(FEATURE_COLUMNS, row[n:]),
            today=today,
            portfolio_profit=profit,
        )
        for row in rows
    ]


async def _in_top_percent(
    session: AsyncSession, definition: ModelDefinition, *, account_id: str, total: Decimal, values: Mapping[str, Any]
) -> bool:
    rule = definition.tiers.top_percent
    assert rule is not None
    size = int(await session.scalar(select(func.count()).select_from(Account).where(Account.status != "former")) or 0)
    if rule.by == "score":
        measure: Any = Account.score
        mine = total
        query = select(func.count()).select_from(Account)
    else:
        measure = getattr(AccountFeatures, rule.by)
        mine = values[rule.by]
        query = (
            select(func.count()).select_from(AccountFeatures).join(Account, Account.id == AccountFeatures.account_id)
        )
    ahead = await session.scalar(query.where(Account.status != "former", Account.id != account_id, measure > mine))
    return int(ahead or 0) < top_count(max(size, 1), rule.percent)


async def rescore_account(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    account_id: str,
    now: datetime,
    reason: str,
    actor: str | None = None,
) -> ScoreResult | None:
    """Score one account with the published model, store the explanation and move its tier if needed."""
    model = await active_model(session)
    account = await session.scalar(select(Account).where(Account.id == account_id).with_for_update())
    if model is None or account is None:
        return None
    definition = parse_definition(model.definition)
    features = await features_for(session, account_id=account_id, now=now)
    profit = await portfolio_profit(session)
    account_values = {c.key: getattr(account, c.key) for c in ACCOUNT_COLUMNS}
    feature_values = {c.key: getattr(features, c.key) for c in FEATURE_COLUMNS}
    values = indicator_values(
        account=account_values, features=feature_values, today=now.date(), portfolio_profit=profit
    )
    populations = None
    if percentile_indicators(definition):
        portfolio = await _portfolio_values(session, today=now.date(), profit=profit)
        if account.status == "former":
            portfolio.append(values)
        populations = build_populations(definition, portfolio)
    result = score_account(definition, values, populations)
    computed = tier_for_score(result.total, definition.tiers.thresholds)
    if definition.tiers.top_percent is not None:
        in_top = await _in_top_percent(session, definition, account_id=account_id, total=result.total, values=values)
        computed = apply_top_rule(computed, in_top)
    await _store_scores(
        session,
        [
            {
                "account_id": account_id,
                "model_version": model.version,
                "total": result.total,
                "breakdown": result.compact(),
                "computed_tier": computed,
                "scored_at": now,
            }
        ],
    )
    await apply_tier(
        session,
        tables,
        account=account,
        computed_tier=computed,
        score=result.total,
        model_version=model.version,
        reason=f"{reason}: score {result.total} under model v{model.version} → {computed}",
        now=now,
        actor=actor,
    )
    return result


async def _store_scores(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    stmt = _upsert(session, AccountScore.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id"],
        set_={c: stmt.excluded[c] for c in ("model_version", "total", "breakdown", "computed_tier", "scored_at")},
    )
    await session.execute(stmt, rows)


# ---------------------------------------------------------------- full re-score job


async def request_rescore(
    session: AsyncSession, *, trigger: str, user_id: str, now: datetime
) -> tuple[RescoreJob, bool]:
    """A queued job (or the one already queued or running); True when it is new."""
    existing = await session.scalar(
        select(RescoreJob).where(RescoreJob.status.in_(("queued", "running"))).order_by(RescoreJob.created_at)
    )
    if existing is not None:
        return existing, False
    job = RescoreJob(
        id=str(uuid.uuid4()),
        trigger=trigger,
        status="queued",
        total=0,
        done=0,
        tier_changes=0,
        requested_by=user_id,
        created_at=now,
    )
    session.add(job)
    await session.flush()
    return job, True


async def get_job(session: AsyncSession, *, job_id: str) -> RescoreJob:
    """A job or 404."""
    job = await session.get(RescoreJob, job_id)
    if job is None:
        raise NotFound(f"Re-score job {job_id} not found")
    return job


async def run_rescore_job(
    db: Database, tables: PlatformTables, *, job_id: str, now: Callable[[], datetime], chunk_size: int = 2000
) -> RescoreJob:
    """Score the whole portfolio in memory, then write scores and tier moves chunk by chunk with progress."""
    try:
        return await _run_rescore_job(db, tables, job_id=job_id, now=now, chunk_size=chunk_size)
    except Exception as exc:
        log.exception("re-score job failed", extra={"job_id": job_id})
        async with db.transaction() as session:
            await session.execute(
                update(RescoreJob)
                .where(RescoreJob.id == job_id)
                .values(status="failed", error=f"{type(exc).__name__}: {exc}"[:4000], finished_at=now())
            )
        raise


T = TypeVar("T")


def _batches(items: Sequence[T], size: int = 1000) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a burst of acyclic allocations (it halves scoring speed)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


PORTFOLIO_COLUMNS = (*ACCOUNT_COLUMNS, *FEATURE_COLUMNS, Account.status)


async def _portfolio_rows(session: AsyncSession) -> Sequence[Any]:
    return (
        await session.execute(
            select(*PORTFOLIO_COLUMNS).outerjoin(AccountFeatures, AccountFeatures.account_id == Account.id)
        )
    ).all()


async def _score_portfolio(
    definition: ModelDefinition, rows: Sequence[Any], profit: Decimal, today: date
) -> tuple[dict[str, ScoreResult], dict[str, str]]:
    """Every account's explained score and computed tier (percentiles and the top-N % rule see all of them)."""
    n = len(ACCOUNT_COLUMNS)
    values: dict[str, dict[str, Decimal | None]] = {}
    for batch in _batches(rows):
        with _gc_paused():
            for row in batch:
                values[row[0]] = indicator_values(
                    account=_row_dict(ACCOUNT_COLUMNS, row[:n]),
                    features=_row_dict(FEATURE_COLUMNS, row[n : n + len(FEATURE_COLUMNS)]),
                    today=today,
                    portfolio_profit=profit,
                )
        await asyncio.sleep(0)  # keep serving requests while a large portfolio is scored
    active_ids = [row[0] for row in rows if row[-1] != "former"]
    populations = build_populations(definition, (values[i] for i in active_ids))
    compiled = compile_model(definition)
    results: dict[str, ScoreResult] = {}
    for batch_ids in _batches(list(values)):
        with _gc_paused():
            for account_id in batch_ids:
                results[account_id] = score_account(compiled, values[account_id], populations)
        await asyncio.sleep(0)
    rule = definition.tiers.top_percent
    by = "score" if rule is None else rule.by

    def measure(account_id: str) -> Decimal:
        value = results[account_id].total if by == "score" else values[account_id][by]
        return value if value is not None else Decimal(0)

    tiers = assign_tiers(definition.tiers, [(i, results[i].total, measure(i)) for i in active_ids])
    for account_id, result in results.items():  # former accounts are scored but not ranked
        tiers.setdefault(account_id, tier_for_score(result.total, definition.tiers.thresholds))
    return results, tiers


async def rescore_accounts(
    session: AsyncSession, tables: PlatformTables, *, account_ids: Sequence[str], now: datetime, reason: str
) -> int:
    """Score some accounts against the whole portfolio in bulk (imports); returns how many tiers moved."""
    model = await active_model(session)
    if model is None or not account_ids:
        return 0
    profit = await portfolio_profit(session)
    results, tiers = await _score_portfolio(
        parse_definition(model.definition), await _portfolio_rows(session), profit, now.date()
    )
    return await _write_chunk(
        session,
        tables,
        chunk=account_ids,
        results=results,
        tiers=tiers,
        model_version=model.version,
        now=now,
        reason=reason,
    )


async def _run_rescore_job(
    db: Database, tables: PlatformTables, *, job_id: str, now: Callable[[], datetime], chunk_size: int
) -> RescoreJob:
    started = now()
    async with db.transaction() as session:
        model = await active_model(session)
        profit = await portfolio_profit(session)
        rows = await _portfolio_rows(session)
        await session.execute(
            update(RescoreJob)
            .where(RescoreJob.id == job_id)
            .values(
                status="running",
                started_at=started,
                total=len(rows),
                model_version=model.version if model else None,
            )
        )
    if model is None:
        return await _finish_job(db, job_id=job_id, now=now(), changes=0)
    results, tiers = await _score_portfolio(parse_definition(model.definition), rows, profit, started.date())
    del rows
    # The scored portfolio lives until the job ends: keep the collector from rescanning it after every chunk
    # (collect first, or the garbage of the scoring pass is frozen with it).
    gc.collect()
    gc.freeze()
    try:
        return await _write_results(
            db,
            tables,
            job_id=job_id,
            results=results,
            tiers=tiers,
            model_version=model.version,
            now=now,
            chunk_size=chunk_size,
        )
    finally:
        gc.unfreeze()


async def _write_results(
    db: Database,
    tables: PlatformTables,
    *,
    job_id: str,
    results: Mapping[str, ScoreResult],
    tiers: Mapping[str, str],
    model_version: int,
    now: Callable[[], datetime],
    chunk_size: int,
) -> RescoreJob:
    ids = list(results)
    changes = 0
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        async with db.transaction() as session:
            moment = now()
            changes += await _write_chunk(
                session,
                tables,
                chunk=chunk,
                results=results,
                tiers=tiers,
                model_version=model_version,
                now=moment,
            )
            await session.execute(
                update(RescoreJob).where(RescoreJob.id == job_id).values(done=start + len(chunk), tier_changes=changes)
            )
    return await _finish_job(db, job_id=job_id, now=now(), changes=changes)


async def _write_chunk(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    chunk: Sequence[str],
    results: Mapping[str, ScoreResult],
    tiers: Mapping[str, str],
    model_version: int,
    now: datetime,
    reason: str = "full re-score",
) -> int:
    """Store one chunk's scores and apply its tier moves in bulk (history, projection, one event each)."""
    with _gc_paused():
        scores = [
            {
                "account_id": i,
                "model_version": model_version,
                "total": results[i].total,
                "breakdown": results[i].compact(),
                "computed_tier": tiers[i],
                "scored_at": now,
            }
            for i in chunk
        ]
    await _store_scores(session, scores)
    # Current tiers are read (and on PostgreSQL locked) inside this transaction, so a concurrent
    # single-account re-score cannot make the same move twice.
    current = dict(
        (await session.execute(select(Account.id, Account.tier).where(Account.id.in_(chunk)).with_for_update())).all()
    )
    overridden = await _overridden_accounts(session, chunk, now)
    steady: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    events: list[AccountTierChanged] = []
    for i in chunk:
        if i not in current:
            continue
        score = results[i].total
        row = {"id": i, "computed_tier": tiers[i], "score": score, "model_version": model_version, "scored_at": now}
        target = overridden.get(i) or tiers[i]
        old = current[i]
        if target == old:
            steady.append(row)
            continue
        moved.append({**row, "tier": target, "updated_at": now})
        why = (
            f"{reason}: tier override {target} in force"
            if i in overridden
            else f"{reason}: score {score} under model v{model_version} → {target}"
        )
        history.append(
            {
                "account_id": i,
                "old_tier": old,
                "new_tier": target,
                "score": score,
                "reason": why,
                "model_version": model_version,
                "overridden": i in overridden,
                "changed_by": "rescore-job" if reason == "full re-score" else None,
                "changed_at": now,
            }
        )
        events.append(
            AccountTierChanged(
                source="scoring",
                account_id=i,
                time=now,
                data={
                    "old_tier": old,
                    "new_tier": target,
                    "score": score,
                    "reason": why,
                    "model_version": model_version,
                    "overridden": i in overridden,
                },
            )
        )
    for rows in (steady, moved):
        if rows:
            await session.execute(update(Account), rows)
    if moved:
        projection = tables.accounts
        await session.execute(insert(TierChange), history)
        await session.execute(
            update(projection)
            .where(projection.c.account_id == bindparam("b_id"))
            .values(tier=bindparam("b_tier"), updated_at=bindparam("b_at")),
            [{"b_id": r["id"], "b_tier": r["tier"], "b_at": now} for r in moved],
        )
        await add_events(session, tables.outbox, events)
    return len(moved)


async def add_events(session: AsyncSession, outbox: Any, events: Sequence[AccountTierChanged]) -> None:
    """Write many events into the outbox in one statement (the bulk form of ``shared.bus.add_event``)."""
    created = datetime.now(UTC)
    await session.execute(
        insert(outbox),
        [
            {
                "event_id": e.id,
                "subject": e.subject,
                "payload": e.model_dump_json(),
                "created_at": created,
                "attempts": 0,
            }
            for e in events
        ],
    )
    session.sync_session.info[OUTBOX_FLAG] = True


async def _overridden_accounts(session: AsyncSession, ids: Sequence[str], now: datetime) -> dict[str, str]:
    rows = (
        await session.execute(
            select(TierOverride.account_id, TierOverride.tier).where(
                TierOverride.account_id.in_(ids),
                TierOverride.ended_at.is_(None),
                or_(TierOverride.expires_at.is_(None), TierOverride.expires_at > now),
            )
        )
    ).all()
    return {account_id: tier for account_id, tier in rows}


async def _finish_job(db: Database, *, job_id: str, now: datetime, changes: int) -> RescoreJob:
    async with db.transaction() as session:
        job = await get_job(session, job_id=job_id)
        job.status, job.finished_at, job.tier_changes = "succeeded", now, changes
        job.done = job.total
        await session.flush()
        return job


async def scheduled_rescore_due(session: AsyncSession, *, now: datetime, interval_seconds: float) -> bool:
    """Whether the stored timer says a scheduled full re-score is due (and there is something to score)."""
    if not await session.scalar(select(func.count()).select_from(Account)):
        return False
    last = await session.scalar(
        select(func.max(RescoreJob.created_at)).where(
            and_(RescoreJob.trigger.in_(("schedule", "manual", "model_published")), RescoreJob.status != "failed")
        )
    )
    return last is None or last <= now - timedelta(seconds=interval_seconds)
