"""Scoring a whole portfolio at once: every account in memory (percentiles and the top-N % rule see all of them),
then scores and tier moves written in bulk, one chunk per transaction."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.features import indicator_values
from services.scoring.registry.models import Account
from services.scoring.scores.model_versions import active_model
from services.scoring.scores.models import AccountFeatures, TierChange
from services.scoring.scores.service import (
    ACCOUNT_COLUMNS,
    FEATURE_COLUMNS,
    portfolio_profit,
    row_dict,
    store_scores,
)
from services.scoring.scores.tiers import overridden_accounts
from services.scoring.scoring_model import (
    ModelDefinition,
    ScoreResult,
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

PORTFOLIO_COLUMNS = (*ACCOUNT_COLUMNS, *FEATURE_COLUMNS, Account.status)
FULL_RESCORE = "full re-score"

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


async def portfolio_rows(session: AsyncSession) -> Sequence[Any]:
    """Every account's scoring inputs and status (one query)."""
    return (
        await session.execute(
            select(*PORTFOLIO_COLUMNS).outerjoin(AccountFeatures, AccountFeatures.account_id == Account.id)
        )
    ).all()


async def score_portfolio(
    definition: ModelDefinition, rows: Sequence[Any], profit: Decimal, today: date
) -> tuple[dict[str, ScoreResult], dict[str, str]]:
    """Every account's explained score and computed tier (percentiles and the top-N % rule see all of them)."""
    n = len(ACCOUNT_COLUMNS)
    values: dict[str, dict[str, Decimal | None]] = {}
    for batch in _batches(rows):
        with _gc_paused():
            for row in batch:
                values[row[0]] = indicator_values(
                    account=row_dict(ACCOUNT_COLUMNS, row[:n]),
                    features=row_dict(FEATURE_COLUMNS, row[n : n + len(FEATURE_COLUMNS)]),
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
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account_ids: Sequence[str],
    now: datetime,
    reason: str,
) -> int:
    """Score some accounts against the whole portfolio in bulk (imports); returns how many tiers moved."""
    model = await active_model(session)
    if model is None or not account_ids:
        return 0
    profit = await portfolio_profit(session)
    results, tiers = await score_portfolio(
        parse_definition(model.definition), await portfolio_rows(session), profit, now.date()
    )
    return await write_chunk(
        session,
        tables,
        publisher=publisher,
        chunk=account_ids,
        results=results,
        tiers=tiers,
        model_version=model.version,
        now=now,
        reason=reason,
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
) -> ChunkMoves:
    """Each account's new score fields and, where its effective tier moves, the history row and event."""
    moves = ChunkMoves()
    for i in chunk:
        if i not in current:
            continue
        score = results[i].total
        row = {"id": i, "computed_tier": tiers[i], "score": score, "model_version": model_version, "scored_at": now}
        target = overridden.get(i) or tiers[i]
        old = current[i]
        if target == old:
            moves.steady.append(row)
            continue
        moves.moved.append({**row, "tier": target, "updated_at": now})
        why = (
            f"{reason}: tier override {target} in force"
            if i in overridden
            else f"{reason}: score {score} under model v{model_version} → {target}"
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
                "changed_by": "rescore-job" if reason == FULL_RESCORE else None,
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
    return len(moves.moved)
