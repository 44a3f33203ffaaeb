"""Scoring one account: its indicator values, the explained score stored and served, its tier, its strategy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.features import indicator_values
from services.scoring.registry.models import Account
from services.scoring.scores.feature_store import features_for
from services.scoring.scores.model_versions import active_model
from services.scoring.scores.models import AccountFeatures, AccountScore, ScoringModelVersion, TierOverride
from services.scoring.scores.schemas import ScoreRead, StrategyRead
from services.scoring.scores.tiers import active_override, apply_tier
from services.scoring.scoring_model import (
    THRESHOLD_TIERS,
    ModelDefinition,
    ScoreResult,
    apply_top_rule,
    build_populations,
    expand_breakdown,
    parse_definition,
    percentile_indicators,
    score_account,
    tier_for_score,
    top_count,
)
from services.scoring.strategy import recommend_strategy, white_space
from shared.bus import Publisher
from shared.db import PlatformTables
from shared.errors import NotFound

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


def row_dict(columns: Sequence[Any], row: Sequence[Any]) -> dict[str, Any]:
    """A selected row as ``{column key: value}``."""
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
            account=row_dict(ACCOUNT_COLUMNS, row[:n]),
            features=row_dict(FEATURE_COLUMNS, row[n:]),
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
    publisher: Publisher,
    account_id: str,
    now: datetime,
    reason: str,
    actor_id: str | None = None,
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
    await store_scores(
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
        publisher=publisher,
        account=account,
        computed_tier=computed,
        score=result.total,
        model_version=model.version,
        reason=f"{reason}: score {result.total} under model v{model.version} → {computed}",
        now=now,
        actor_id=actor_id,
    )
    return result


async def store_scores(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert or replace the stored explained scores (one row per account)."""
    stmt = _upsert(session, AccountScore.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id"],
        set_={c: stmt.excluded[c] for c in ("model_version", "total", "breakdown", "computed_tier", "scored_at")},
    )
    await session.execute(stmt, rows)


def _explanation(
    stored: AccountScore,
    definition: ModelDefinition | None,
    indicators: list[dict[str, Any]],
    override: TierOverride | None,
) -> str:
    policy = definition.tiers if definition else None
    thresholds = dict(policy.thresholds) if policy else {}
    top = sorted(indicators, key=lambda i: Decimal(i["contribution"]), reverse=True)[:3]
    why = [f"Score {stored.total} under model v{stored.model_version} gives {stored.computed_tier}"]
    if thresholds:
        why.append("thresholds: " + ", ".join(f"{t} ≥ {thresholds[t]}" for t in THRESHOLD_TIERS) + ", else maintain")
    if policy and policy.top_percent is not None:
        why.append(
            f"top-{policy.top_percent.percent}% rule by {policy.top_percent.by}: key accounts are exactly the top "
            f"{policy.top_percent.percent}% of the portfolio"
        )
    why.append("largest contributions: " + ", ".join(f"{i['label_en']} {i['contribution']}" for i in top))
    if override is not None:
        why.append(f"tier overridden to {override.tier} by {override.approved_by}: {override.reason}")
    return "; ".join(why) + "."


async def explain_score(session: AsyncSession, *, account: Account, now: datetime) -> ScoreRead:
    """The stored score of an account with dimensions, contributions and why this tier (404 if never scored)."""
    stored = await session.get(AccountScore, account.id)
    if stored is None:
        raise NotFound(f"Account {account.id} has not been scored yet")
    model = await session.get(ScoringModelVersion, stored.model_version)
    definition = parse_definition(model.definition) if model else None
    policy = definition.tiers if definition else None
    dimensions, indicators = expand_breakdown(stored.breakdown)
    override = await active_override(session, account_id=account.id, now=now)
    return ScoreRead(
        account_id=account.id,
        model_version=stored.model_version,
        total=stored.total,
        computed_tier=stored.computed_tier,
        tier=account.tier,
        overridden=override is not None,
        thresholds=dict(policy.thresholds) if policy else {},
        top_percent=policy.top_percent.model_dump(mode="json") if policy and policy.top_percent else None,
        explanation=_explanation(stored, definition, indicators, override),
        dimensions=dimensions,
        indicators=indicators,
        scored_at=stored.scored_at,
    )


async def account_strategy(
    session: AsyncSession, *, account: Account, product_lines: Sequence[str], today: date
) -> StrategyRead:
    """The recommended strategy from tier and position, and the white space among the offered product lines."""
    features = await session.get(AccountFeatures, account.id)
    bought = list(features.product_lines) if features else []
    values = indicator_values(
        account={"expected_growth_pct": account.expected_growth_pct},
        features={
            "annual_purchases": features.annual_purchases if features else 0,
            "previous_year_purchases": features.previous_year_purchases if features else 0,
        },
        today=today,
        portfolio_profit=Decimal(0),
    )
    missing = white_space(product_lines, bought)
    strategy = recommend_strategy(
        tier=account.tier,
        industry_leadership=account.industry_leadership,
        revenue_growth=values["revenue_growth"],
        expected_growth=account.expected_growth_pct,
        missing_lines=missing,
    )
    return StrategyRead(
        account_id=account.id,
        tier=account.tier,
        product_lines_bought=bought,
        white_space=missing,
        **strategy.__dict__,
    )
