"""Scores and tiers in the database: models, features from events, re-scoring, overrides, tier history, jobs."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.features import LEVEL_RANK, indicator_values, period_of, summarise_actuals
from services.scoring.models import (
    Account,
    AccountFeatures,
    AccountScore,
    ComplaintFeedback,
    Contact,
    Engagement,
    MonthlyActual,
    RescoreJob,
    ScoringModelVersion,
    TierChange,
    TierOverride,
)
from services.scoring.scoring_model import (
    TIERS,
    ModelDefinition,
    ScoreResult,
    apply_top_rule,
    assign_tiers,
    build_populations,
    compile_model,
    default_definition,
    effective_tier,
    override_is_active,
    parse_definition,
    percentile_indicators,
    score_account,
    tier_for_score,
    top_count,
    validate_definition,
)
from shared.bus import add_event
from shared.bus.outbox import OUTBOX_FLAG
from shared.db import Database, PlatformTables
from shared.errors import InvalidTransition, NotFound, Unprocessable
from shared.events import AccountTierChanged
from shared.projection import set_account_tier

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


# ---------------------------------------------------------------- models


async def active_model(session: AsyncSession) -> ScoringModelVersion | None:
    """The published model (the newest one if history holds several)."""
    return await session.scalar(
        select(ScoringModelVersion)
        .where(ScoringModelVersion.status == "published")
        .order_by(ScoringModelVersion.version.desc())
        .limit(1)
    )


async def ensure_default_model(session: AsyncSession, *, now: datetime) -> None:
    """Publish the default model as version 1 on a fresh database."""
    if await session.scalar(select(func.count()).select_from(ScoringModelVersion)):
        return
    session.add(
        ScoringModelVersion(
            version=1,
            name="默认模型 Default (FAQ 1)",
            status="published",
            definition=default_definition().model_dump(mode="json"),
            notes="Scale 35, strategic 25, potential 20, relationship 20.",
            created_by="system",
            created_at=now,
            published_by="system",
            published_at=now,
        )
    )
    await session.flush()


async def create_model(
    session: AsyncSession, *, name: str, notes: str | None, definition: ModelDefinition, user_id: str, now: datetime
) -> ScoringModelVersion:
    """Store a new draft version (validated: 422 naming the problem)."""
    validate_definition(definition)
    latest = await session.scalar(select(func.max(ScoringModelVersion.version)))
    model = ScoringModelVersion(
        version=int(latest or 0) + 1,
        name=name,
        status="draft",
        definition=definition.model_dump(mode="json"),
        notes=notes,
        created_by=user_id,
        created_at=now,
    )
    session.add(model)
    await session.flush()
    return model


async def get_model(session: AsyncSession, *, version: int) -> ScoringModelVersion:
    """One model version or 404."""
    model = await session.get(ScoringModelVersion, version)
    if model is None:
        raise NotFound(f"Scoring model version {version} not found")
    return model


async def publish_model(session: AsyncSession, *, version: int, user_id: str, now: datetime) -> ScoringModelVersion:
    """Draft → published; the previously published version is retired (kept as history)."""
    model = await get_model(session, version=version)
    if model.status != "draft":
        raise InvalidTransition(
            f"Only a draft can be published; version {version} is {model.status}",
            current=model.status,
            allowed=[],
        )
    validate_definition(parse_definition(model.definition))
    await session.execute(
        update(ScoringModelVersion).where(ScoringModelVersion.status == "published").values(status="retired")
    )
    model.status = "published"
    model.published_by = user_id
    model.published_at = now
    await session.flush()
    return model


# ---------------------------------------------------------------- features


async def features_for(session: AsyncSession, *, account_id: str, now: datetime) -> AccountFeatures:
    """The account's feature row (created empty when missing)."""
    features = await session.get(AccountFeatures, account_id)
    if features is None:
        features = AccountFeatures(
            account_id=account_id,
            annual_purchases=Decimal(0),
            annual_profit=Decimal(0),
            previous_year_purchases=Decimal(0),
            active_months=0,
            product_lines=[],
            satisfaction_count=0,
            escalations=0,
            highest_contact_level=0,
            updated_at=now,
        )
        session.add(features)
        await session.flush()
    return features


async def record_actuals(
    session: AsyncSession,
    *,
    account_id: str,
    period: str,
    revenue: Decimal,
    cost: Decimal,
    gross_profit: Decimal,
    by_product_line: Mapping[str, Decimal],
    reported_at: datetime,
) -> bool:
    """Replace one month's totals unless a later report is already stored; True if stored."""
    row = await session.get(MonthlyActual, (account_id, period))
    lines = {k: str(v) for k, v in by_product_line.items()}
    if row is None:
        session.add(
            MonthlyActual(
                account_id=account_id,
                period=period,
                revenue=revenue,
                cost=cost,
                gross_profit=gross_profit,
                by_product_line=lines,
                reported_at=reported_at,
            )
        )
    elif row.reported_at > reported_at:
        return False  # an older report arriving late must not overwrite a newer one
    else:
        row.revenue, row.cost, row.gross_profit, row.by_product_line = revenue, cost, gross_profit, lines
        row.reported_at = reported_at
    await session.flush()
    return True


async def refresh_actuals_features(session: AsyncSession, *, account_id: str, now: datetime) -> AccountFeatures:
    """Recompute purchases, profit, growth, stability and product lines from the stored months."""
    rows = (
        await session.execute(
            select(
                MonthlyActual.period, MonthlyActual.revenue, MonthlyActual.gross_profit, MonthlyActual.by_product_line
            ).where(MonthlyActual.account_id == account_id)
        )
    ).all()
    summary = summarise_actuals(((r[0], r[1], r[2], r[3] or {}) for r in rows), current_period=period_of(now))
    features = await features_for(session, account_id=account_id, now=now)
    features.annual_purchases = summary.annual_purchases
    features.annual_profit = summary.annual_profit
    features.previous_year_purchases = summary.previous_year_purchases
    features.active_months = summary.active_months
    features.product_lines = summary.product_lines
    features.updated_at = now
    await session.flush()
    return features


async def refresh_complaint_features(session: AsyncSession, *, account_id: str, now: datetime) -> None:
    """Average satisfaction of closed complaints and escalations of the last 12 months."""
    since = now - timedelta(days=365)
    satisfaction = (
        await session.execute(
            select(func.avg(ComplaintFeedback.satisfaction), func.count(ComplaintFeedback.satisfaction)).where(
                ComplaintFeedback.account_id == account_id, ComplaintFeedback.satisfaction.is_not(None)
            )
        )
    ).one()
    escalations = await session.scalar(
        select(func.coalesce(func.sum(ComplaintFeedback.escalations), 0)).where(
            ComplaintFeedback.account_id == account_id, ComplaintFeedback.last_escalated_at >= since
        )
    )
    features = await features_for(session, account_id=account_id, now=now)
    average, count = satisfaction
    features.satisfaction_avg = None if average is None else Decimal(str(average)).quantize(Decimal("0.01"))
    features.satisfaction_count = int(count or 0)
    features.escalations = int(escalations or 0)
    features.updated_at = now
    await session.flush()


async def record_complaint_closed(
    session: AsyncSession, *, account_id: str, complaint_id: str, satisfaction: int | None, closed_at: datetime
) -> None:
    """Remember the satisfaction of the latest closing of a complaint."""
    row = await session.get(ComplaintFeedback, complaint_id)
    if row is None:
        session.add(
            ComplaintFeedback(
                complaint_id=complaint_id,
                account_id=account_id,
                satisfaction=satisfaction,
                closed_at=closed_at,
                escalations=0,
            )
        )
    elif row.closed_at is None or row.closed_at <= closed_at:
        row.satisfaction, row.closed_at = satisfaction, closed_at
    await session.flush()


async def record_escalation(
    session: AsyncSession, *, account_id: str, complaint_id: str, level: int, escalated_at: datetime
) -> None:
    """Remember the highest escalation level a complaint reached (order-tolerant)."""
    row = await session.get(ComplaintFeedback, complaint_id)
    if row is None:
        session.add(
            ComplaintFeedback(
                complaint_id=complaint_id, account_id=account_id, escalations=level, last_escalated_at=escalated_at
            )
        )
    else:
        row.escalations = max(row.escalations, level)
        if row.last_escalated_at is None or row.last_escalated_at < escalated_at:
            row.last_escalated_at = escalated_at
    await session.flush()


async def record_credit_grade(
    session: AsyncSession, *, account_id: str, grade: str, assessed_at: datetime, now: datetime
) -> bool:
    """Keep the latest credit grade; True if it changed."""
    features = await features_for(session, account_id=account_id, now=now)
    if features.credit_assessed_at is not None and features.credit_assessed_at > assessed_at:
        return False
    changed = features.credit_grade != grade
    features.credit_grade, features.credit_assessed_at, features.updated_at = grade, assessed_at, now
    await session.flush()
    return changed


async def refresh_contact_level(session: AsyncSession, *, account_id: str, now: datetime) -> bool:
    """The highest level reached: by contacts on record or logged engagements (execution 1 … executive 3).

    True when it changed (only then does the score move).
    """
    levels = set((await session.execute(select(Contact.level).where(Contact.account_id == account_id))).scalars())
    levels |= set(
        (await session.execute(select(Engagement.level).where(Engagement.account_id == account_id).distinct()))
        .scalars()
        .all()
    )
    features = await features_for(session, account_id=account_id, now=now)
    highest = max((LEVEL_RANK.get(level, 0) for level in levels), default=0)
    if highest == features.highest_contact_level:
        return False
    features.highest_contact_level = highest
    features.updated_at = now
    await session.flush()
    return True


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


async def active_override(session: AsyncSession, *, account_id: str, now: datetime) -> TierOverride | None:
    """The override in force for an account, if any."""
    candidates = (
        await session.execute(
            select(TierOverride)
            .where(TierOverride.account_id == account_id, TierOverride.ended_at.is_(None))
            .order_by(TierOverride.created_at.desc())
        )
    ).scalars()
    for override in candidates:
        if override_is_active(override.expires_at, override.ended_at, now):
            return override
    return None


async def apply_tier(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    account: Account,
    computed_tier: str | None,
    score: Decimal | None,
    model_version: int | None,
    reason: str,
    now: datetime,
    actor: str | None = None,
    override: TierOverride | bool | None = True,
) -> bool:
    """Store the score fields and, when the effective tier moves, record it and publish one ``tier_changed``.

    ``override=True`` looks the active override up; pass an override or None to decide it here.
    """
    if override is True:
        override = await active_override(session, account_id=account.id, now=now)
    chosen = override if isinstance(override, TierOverride) else None
    account.computed_tier = computed_tier
    account.score = score
    account.model_version = model_version
    account.scored_at = now if score is not None else account.scored_at
    if chosen is not None:
        tier, overridden = effective_tier(computed_tier or chosen.tier, chosen.tier, True)
        reason = f"override by {chosen.approved_by}: {chosen.reason}"
    elif computed_tier is None:
        await session.flush()
        return False
    else:
        tier, overridden = computed_tier, False
    old = account.tier
    if tier == old:
        await session.flush()
        return False
    account.tier = tier
    account.updated_at = now
    await session.flush()
    session.add(
        TierChange(
            account_id=account.id,
            old_tier=old,
            new_tier=tier,
            score=score,
            reason=reason,
            model_version=model_version,
            overridden=overridden,
            changed_by=actor,
            changed_at=now,
        )
    )
    await set_account_tier(session, tables, account_id=account.id, tier=tier)
    await add_event(
        session,
        tables.outbox,
        AccountTierChanged(
            source="scoring",
            account_id=account.id,
            time=now,
            data={
                "old_tier": old,
                "new_tier": tier,
                "score": score,
                "reason": reason,
                "model_version": model_version,
                "overridden": overridden,
            },
        ),
    )
    await session.flush()
    return True


# ---------------------------------------------------------------- overrides


async def set_override(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    account: Account,
    tier: str,
    reason: str,
    expires_at: datetime | None,
    user_id: str,
    now: datetime,
) -> TierOverride:
    """Replace any active override with a new one and apply it."""
    if expires_at is not None and expires_at <= now:
        raise Unprocessable("expires_at must be in the future", field="expires_at")
    await _end_overrides(session, account_id=account.id, now=now, by=user_id, why="replaced")
    override = TierOverride(
        id=str(uuid.uuid4()),
        account_id=account.id,
        tier=tier,
        reason=reason,
        approved_by=user_id,
        created_by=user_id,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(override)
    await session.flush()
    await apply_tier(
        session,
        tables,
        account=account,
        computed_tier=account.computed_tier,
        score=account.score,
        model_version=account.model_version,
        reason="",
        now=now,
        actor=user_id,
        override=override,
    )
    return override


async def _end_overrides(session: AsyncSession, *, account_id: str, now: datetime, by: str, why: str) -> int:
    result = await session.execute(
        update(TierOverride)
        .where(TierOverride.account_id == account_id, TierOverride.ended_at.is_(None))
        .values(ended_at=now, ended_by=by, end_reason=why)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _fall_back_to_computed(
    session: AsyncSession, tables: PlatformTables, *, account: Account, now: datetime, reason: str, actor: str | None
) -> None:
    await apply_tier(
        session,
        tables,
        account=account,
        computed_tier=account.computed_tier,
        score=account.score,
        model_version=account.model_version,
        reason=f"{reason}; computed tier applies (score {account.score})",
        now=now,
        actor=actor,
        override=None,
    )


async def revoke_override(
    session: AsyncSession, tables: PlatformTables, *, account: Account, user_id: str, now: datetime
) -> None:
    """End the active override; the computed tier applies again."""
    if not await _end_overrides(session, account_id=account.id, now=now, by=user_id, why="revoked"):
        raise NotFound(f"Account {account.id} has no active tier override")
    await _fall_back_to_computed(
        session, tables, account=account, now=now, reason=f"override revoked by {user_id}", actor=user_id
    )


async def expire_overrides(session: AsyncSession, tables: PlatformTables, *, now: datetime) -> int:
    """End overrides whose expiry has passed and fall back to each account's computed tier."""
    due = (
        (
            await session.execute(
                select(TierOverride).where(
                    TierOverride.ended_at.is_(None),
                    TierOverride.expires_at.is_not(None),
                    TierOverride.expires_at <= now,
                )
            )
        )
        .scalars()
        .all()
    )
    for override in due:
        override.ended_at, override.ended_by, override.end_reason = override.expires_at, "system", "expired"
        await session.flush()
        account = await session.get(Account, override.account_id)
        if account is not None and await active_override(session, account_id=account.id, now=now) is None:
            await _fall_back_to_computed(
                session, tables, account=account, now=now, reason="override expired", actor="system"
            )
    return len(due)


async def list_overrides(session: AsyncSession, *, account_id: str) -> list[TierOverride]:
    """Every override of an account, newest first (the audit trail)."""
    rows = await session.execute(
        select(TierOverride).where(TierOverride.account_id == account_id).order_by(TierOverride.created_at.desc())
    )
    return list(rows.scalars())


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


async def _run_rescore_job(
    db: Database, tables: PlatformTables, *, job_id: str, now: Callable[[], datetime], chunk_size: int
) -> RescoreJob:
    started = now()
    async with db.transaction() as session:
        model = await active_model(session)
        profit = await portfolio_profit(session)
        rows = (
            await session.execute(
                select(*ACCOUNT_COLUMNS, *FEATURE_COLUMNS, Account.status).outerjoin(
                    AccountFeatures, AccountFeatures.account_id == Account.id
                )
            )
        ).all()
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
    definition = parse_definition(model.definition)
    n = len(ACCOUNT_COLUMNS)
    values = {
        row[0]: indicator_values(
            account=_row_dict(ACCOUNT_COLUMNS, row[:n]),
            features=_row_dict(FEATURE_COLUMNS, row[n : n + len(FEATURE_COLUMNS)]),
            today=started.date(),
            portfolio_profit=profit,
        )
        for row in rows
    }
    active_ids = [row[0] for row in rows if row[-1] != "former"]
    populations = build_populations(definition, (values[i] for i in active_ids))
    compiled = compile_model(definition)
    results = {account_id: score_account(compiled, v, populations) for account_id, v in values.items()}
    rule = definition.tiers.top_percent
    by = "score" if rule is None else rule.by

    def measure(account_id: str) -> Decimal:
        value = results[account_id].total if by == "score" else values[account_id][by]
        return value if value is not None else Decimal(0)

    tiers = assign_tiers(definition.tiers, [(i, results[i].total, measure(i)) for i in active_ids])
    for account_id, result in results.items():  # former accounts are scored but not ranked
        tiers.setdefault(account_id, tier_for_score(result.total, definition.tiers.thresholds))
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
                model_version=model.version,
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
) -> int:
    """Store one chunk's scores and apply its tier moves in bulk (history, projection, one event each)."""
    await _store_scores(
        session,
        [
            {
                "account_id": i,
                "model_version": model_version,
                "total": results[i].total,
                "breakdown": results[i].compact(),
                "computed_tier": tiers[i],
                "scored_at": now,
            }
            for i in chunk
        ],
    )
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
        reason = (
            f"full re-score: tier override {target} in force"
            if i in overridden
            else f"full re-score: score {score} under model v{model_version} → {target}"
        )
        history.append(
            {
                "account_id": i,
                "old_tier": old,
                "new_tier": target,
                "score": score,
                "reason": reason,
                "model_version": model_version,
                "overridden": i in overridden,
                "changed_by": "rescore-job",
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
                    "reason": reason,
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


# ---------------------------------------------------------------- tier queries


async def tier_history(session: AsyncSession, *, account_id: str) -> list[TierChange]:
    """Every tier change of an account, newest first."""
    rows = await session.execute(
        select(TierChange)
        .where(TierChange.account_id == account_id)
        .order_by(TierChange.changed_at.desc(), TierChange.id.desc())
    )
    return list(rows.scalars())


def tier_label(code: str | None) -> dict[str, str] | None:
    """``{"code", "label_zh", "label_en"}`` of a tier code."""
    if code is None or code not in TIERS:
        return None
    return {"code": code, "label_zh": TIERS[code][0], "label_en": TIERS[code][1]}
