"""Scoring a whole portfolio at once: every account in memory (percentiles, profit shares and the top-N % rule see
all of them), then scores and tier moves written in bulk, one chunk per transaction."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.features import AsOf, indicator_values
from services.scoring.registry.models import Account
from services.scoring.scores.feature_store import refresh_stale_windows
from services.scoring.scores.model_versions import active_model
from services.scoring.scores.models import AccountFeatures, AccountScore, ScoringModelVersion, TierChange
from services.scoring.scores.portfolio_state import lock_state, mark_scored
from services.scoring.scores.tiers import overridden_accounts
from services.scoring.scoring_model import (
    ModelDefinition,
    Populations,
    ScoreResult,
    TierPolicy,
    assign_tiers,
    build_populations,
    compile_model,
    parse_definition,
    score_account,
    tier_for_score,
)
from shared.bus import Publisher
from shared.db import PlatformTables
from shared.events import AccountTierChanged
from shared.events.catalogue import TierChangedData

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
PORTFOLIO_COLUMNS = (*ACCOUNT_COLUMNS, *FEATURE_COLUMNS, Account.status)
STORED_SCORE_COLUMNS = (
    AccountScore.model_version,
    AccountScore.total,
    AccountScore.computed_tier,
    AccountScore.breakdown,
)
_N = len(ACCOUNT_COLUMNS)
_PROFIT = _N + FEATURE_COLUMNS.index(AccountFeatures.annual_profit)
_STATUS = _N + len(FEATURE_COLUMNS)

FULL_RESCORE = "full re-score"


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


def _upsert(session: AsyncSession, table: Any) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


async def store_scores(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert or replace the stored explained scores (one row per account)."""
    stmt = _upsert(session, AccountScore.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id"],
        set_={c: stmt.excluded[c] for c in ("model_version", "total", "breakdown", "computed_tier", "scored_at")},
    )
    await session.execute(stmt, rows)


T = TypeVar("T")


def _batches(items: Sequence[T], size: int = 1000) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def row_dict(columns: Sequence[Any], row: Sequence[Any]) -> dict[str, Any]:
    """A selected row as ``{column key: value}``."""
    return {c.key: v for c, v in zip(columns, row, strict=True)}


async def portfolio_rows(
    session: AsyncSession, *, account_id: str | None = None, with_scores: bool = False
) -> Sequence[Any]:
    """Every account's scoring inputs and status (one query; one account's with ``account_id``), with the stored
    explained score when asked."""
    columns = (*PORTFOLIO_COLUMNS, *STORED_SCORE_COLUMNS) if with_scores else PORTFOLIO_COLUMNS
    query = select(*columns).outerjoin(AccountFeatures, AccountFeatures.account_id == Account.id)
    if with_scores:
        query = query.outerjoin(AccountScore, AccountScore.account_id == Account.id)
    if account_id is not None:
        query = query.where(Account.id == account_id)
    return (await session.execute(query)).all()


@dataclass
class PortfolioInputs:
    """The portfolio as scoring sees it: each account's raw indicator values, who is active, the total profit of
    the active accounts, and what is stored (score and computed tier; the explained score when read)."""

    values: dict[str, dict[str, Decimal | None]] = field(default_factory=dict)
    active: list[str] = field(default_factory=list)
    profit: Decimal = Decimal(0)
    scores: dict[str, Decimal | None] = field(default_factory=dict)
    computed: dict[str, str | None] = field(default_factory=dict)
    stored: dict[str, tuple[Any, ...]] = field(default_factory=dict)


def total_profit(rows: Sequence[Any]) -> Decimal:
    """Gross profit of the last 12 months over the active accounts, added exactly (not by the database)."""
    return sum((row[_PROFIT] or Decimal(0) for row in rows if row[_STATUS] != "former"), Decimal(0))


async def read_inputs(rows: Sequence[Any], today: date, *, profit: Decimal | None = None) -> PortfolioInputs:
    """Raw indicator values of every row as of ``today`` (the profit share against ``profit``, by default the
    rows' own total)."""
    inputs = PortfolioInputs(profit=total_profit(rows) if profit is None else profit)
    width = len(PORTFOLIO_COLUMNS)
    for batch in _batches(rows):
        with _gc_paused():
            for row in batch:
                account_id = row[0]
                inputs.values[account_id] = indicator_values(
                    account=row_dict(ACCOUNT_COLUMNS, row[:_N]),
                    features=row_dict(FEATURE_COLUMNS, row[_N:_STATUS]),
                    today=today,
                    portfolio_profit=inputs.profit,
                )
                if row[_STATUS] != "former":
                    inputs.active.append(account_id)
                inputs.scores[account_id], inputs.computed[account_id] = row[3], row[2]
                if len(row) > width:
                    inputs.stored[account_id] = tuple(row[width:])
        await asyncio.sleep(0)  # keep serving requests while a large portfolio is read
    return inputs


def populations_of(definition: ModelDefinition, inputs: PortfolioInputs) -> Populations:
    """The sorted values of the percentile indicators across the active accounts."""
    return build_populations(definition, (inputs.values[i] for i in inputs.active))


def portfolio_tiers(policy: TierPolicy, inputs: PortfolioInputs, totals: Mapping[str, Decimal]) -> dict[str, str]:
    """Computed tiers from the totals: thresholds, then the top-N % rule over the active accounts (former
    accounts are scored but not ranked)."""
    rule = policy.top_percent
    by = "score" if rule is None else rule.by

    def measure(account_id: str) -> Decimal:
        value = totals[account_id] if by == "score" else inputs.values[account_id][by]
        return value if value is not None else Decimal(0)

    tiers = assign_tiers(policy, [(i, totals[i], measure(i)) for i in inputs.active])
    for account_id, total in totals.items():
        tiers.setdefault(account_id, tier_for_score(total, policy.thresholds))
    return tiers


async def score_portfolio(
    definition: ModelDefinition, inputs: PortfolioInputs
) -> tuple[dict[str, ScoreResult], dict[str, str]]:
    """Every account's explained score and computed tier (percentiles and the top-N % rule see all of them)."""
    populations = populations_of(definition, inputs)
    compiled = compile_model(definition)
    results: dict[str, ScoreResult] = {}
    for batch_ids in _batches(list(inputs.values)):
        with _gc_paused():
            for account_id in batch_ids:
                results[account_id] = score_account(compiled, inputs.values[account_id], populations)
        await asyncio.sleep(0)
    tiers = portfolio_tiers(definition.tiers, inputs, {i: r.total for i, r in results.items()})
    return results, tiers


def _differs(stored: tuple[Any, ...] | None, result: ScoreResult, tier: str, model_version: int) -> bool:
    if stored is None:
        return True
    version, total, computed, breakdown = stored
    return (version, total, computed) != (model_version, result.total, tier) or breakdown != result.compact()


async def rescore_portfolio(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    model: ScoringModelVersion,
    at: AsOf,
    reason: str,
    focus: Collection[str] = (),
    changed_by: str | None = None,
    windows_current: bool = False,
) -> int:
    """Score every account against the whole portfolio as of ``at`` and write each one whose score or tier is not
    what is stored (and the ``focus`` accounts); afterwards the stored scores are exactly what a full re-score
    gives. Returns how many effective tiers moved.

    ``windows_current``: the portfolio was scored on this business date already, so no account's windowed
    features can be from an earlier month (saves looking for them).
    """
    state = await lock_state(session)
    if not windows_current:
        await refresh_stale_windows(session, at=at)
    inputs = await read_inputs(await portfolio_rows(session, with_scores=True), at.today)
    results, tiers = await score_portfolio(parse_definition(model.definition), inputs)
    wanted = set(focus)
    chunk = [i for i in results if i in wanted or _differs(inputs.stored.get(i), results[i], tiers[i], model.version)]
    moved = await write_chunk(
        session,
        tables,
        publisher=publisher,
        chunk=chunk,
        results=results,
        tiers=tiers,
        model_version=model.version,
        now=at.now,
        reason=reason,
        focus=wanted,
        changed_by=changed_by,
    )
    mark_scored(state, model_version=model.version, today=at.today, now=at.now)
    return moved


async def rescore_accounts(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account_ids: Sequence[str],
    at: AsOf,
    reason: str,
    changed_by: str | None = None,
) -> int:
    """Score new or changed accounts (an import) in one pass over the whole portfolio; returns how many tiers
    moved (the others' too: their ranks moved with the new accounts)."""
    model = await active_model(session)
    if model is None or not account_ids:
        return 0
    return await rescore_portfolio(
        session,
        tables,
        publisher=publisher,
        model=model,
        at=at,
        reason=reason,
        focus=account_ids,
        changed_by=changed_by,
    )


@dataclass
class ChunkMoves:
    """What one chunk writes: account rows whose tier stays or moves, history rows and the events."""

    steady: list[dict[str, Any]] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, TierChangedData]] = field(default_factory=list)


def plan_moves(
    chunk: Sequence[str],
    *,
    results: Mapping[str, ScoreResult],
    tiers: Mapping[str, str],
    current: Mapping[str, str | None],
    overridden: Mapping[str, str],
    model_version: int,
    now: datetime,
    reason: str,
    focus: Collection[str] | None = None,
    changed_by: str | None = None,
) -> ChunkMoves:
    """Each account's new score fields and, where its effective tier moves, the history row and event.

    ``focus``: the accounts the change is about (None: all); the others moved because the portfolio re-ranked.
    """
    moves = ChunkMoves()
    for i in chunk:
        if i not in current:
            continue
        mine = focus is None or i in focus
        why_prefix = reason if mine else f"portfolio re-ranked after {reason}"
        score = results[i].total
        row = {"id": i, "computed_tier": tiers[i], "score": score, "model_version": model_version, "scored_at": now}
        target = overridden.get(i) or tiers[i]
        old = current[i]
        if target == old:
            moves.steady.append(row)
            continue
        moves.moved.append({**row, "tier": target, "updated_at": now})
        why = (
            f"{why_prefix}: tier override {target} in force"
            if i in overridden
            else f"{why_prefix}: score {score} under model v{model_version} → {target}"
        )
        change = {
            "old_tier": old,
            "new_tier": target,
            "score": score,
            "reason": why,
            "model_version": model_version,
            "overridden": i in overridden,
        }
        moves.history.append(
            {
                "account_id": i,
                **change,
                "changed_by": changed_by if mine else None,
                "changed_at": now,
            }
        )
        moves.events.append((i, TierChangedData.model_validate(change)))
    return moves


async def write_chunk(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    chunk: Sequence[str],
    results: Mapping[str, ScoreResult],
    tiers: Mapping[str, str],
    model_version: int,
    now: datetime,
    reason: str = FULL_RESCORE,
    focus: Collection[str] | None = None,
    changed_by: str | None = None,
) -> int:
    """Store one chunk's scores and apply its tier moves in bulk (history, projection, one event each)."""
    if not chunk:
        return 0
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
    await store_scores(session, scores)
    # Current tiers are read (and on PostgreSQL locked) inside this transaction, so a concurrent
    # single-account re-score cannot make the same move twice.
    current = dict(
        (await session.execute(select(Account.id, Account.tier).where(Account.id.in_(chunk)).with_for_update())).all()
    )
    overridden = await overridden_accounts(session, chunk, now)
    moves = plan_moves(
        chunk,
        results=results,
        tiers=tiers,
        current=current,
        overridden=overridden,
        model_version=model_version,
        now=now,
        reason=reason,
        focus=focus,
        changed_by=changed_by,
    )
    for rows in (moves.steady, moves.moved):
        if rows:
            await session.execute(update(Account), rows)
    if moves.moved:
        projection = tables.accounts
        await session.execute(insert(TierChange), moves.history)
        await session.execute(
            update(projection)
            .where(projection.c.account_id == bindparam("b_id"))
            .values(tier=bindparam("b_tier"), updated_at=bindparam("b_at")),
            [{"b_id": r["id"], "b_tier": r["tier"], "b_at": now} for r in moves.moved],
        )
        await publisher.publish_many(session, AccountTierChanged, moves.events, time=now)
    await _reload_loaded(session, chunk)
    return len(moves.moved)


async def _reload_loaded(session: AsyncSession, ids: Sequence[str]) -> None:
    """The bulk writes bypassed the objects this session holds: reload the ones it holds (one query each kind)."""
    wanted = set(ids)
    held_accounts = [o.id for o in session.identity_map.values() if isinstance(o, Account) and o.id in wanted]
    held_scores = [
        o.account_id for o in session.identity_map.values() if isinstance(o, AccountScore) and o.account_id in wanted
    ]
    if held_accounts:
        query = select(Account).where(Account.id.in_(held_accounts))
        await session.execute(query.execution_options(populate_existing=True))
    if held_scores:
        query_scores = select(AccountScore).where(AccountScore.account_id.in_(held_scores))
        await session.execute(query_scores.execution_options(populate_existing=True))
