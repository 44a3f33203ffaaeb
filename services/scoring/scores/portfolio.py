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
from typing import cast as as_table

import numpy as np
from sqlalchemy import JSON, Table, Text, bindparam, cast, func, insert, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.features import AsOf, indicator_values
from services.scoring.registry.models import Account
from services.scoring.scores.batch_scoring import (
    ACCOUNT_FIELDS,
    FEATURE_FIELDS,
    BatchModel,
    BatchScores,
    PortfolioColumns,
    RawColumn,
    breakdown_texts,
    compact_text,
    concat_columns,
    indicator_columns,
    measure_of,
    profit_share_column,
    score_columns,
    tiers_of,
)
from services.scoring.scores.feature_store import refresh_stale_windows
from services.scoring.scores.history import record_chunk
from services.scoring.scores.model_versions import active_model
from services.scoring.scores.models import AccountFeatures, AccountScore, ScoringModelVersion, TierChange
from services.scoring.scores.portfolio_state import lock_state, mark_scored, mark_unsure
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
    """Insert or replace the stored explained scores (one row per account); ``breakdown`` is given as its JSON
    text (``batch_scoring.breakdown_texts`` / ``compact_text``) and stored as is."""
    if not rows:
        return
    postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
    text = bindparam("breakdown_text", type_=Text)
    stmt = _upsert(session, AccountScore.__table__).values(
        account_id=bindparam("account_id"),
        model_version=bindparam("model_version"),
        total=bindparam("total"),
        computed_tier=bindparam("computed_tier"),
        scored_at=bindparam("scored_at"),
        breakdown=cast(text, JSON) if postgres else type_coerce(text, Text),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id"],
        set_={c: stmt.excluded[c] for c in ("model_version", "total", "breakdown", "computed_tier", "scored_at")},
    )
    for start in range(0, len(rows), WRITE_BATCH):
        await session.execute(stmt, rows[start : start + WRITE_BATCH])


WRITE_BATCH = 2000


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


@dataclass
class PortfolioFrame:
    """The portfolio read for the vectorised model: its columns (``batch_scoring``) and the total profit of the
    active accounts (the profit share's denominator)."""

    columns: PortfolioColumns
    profit: Decimal
    stored_scores: list[Decimal | None] = field(default_factory=list)  # with_stored: Account.score
    stored_tiers: list[str | None] = field(default_factory=list)  # with_stored: Account.computed_tier

    def index(self, account_id: str) -> int:
        return self.columns.ids.index(account_id)


FRAME_FIELDS = (*ACCOUNT_FIELDS, "status", *FEATURE_FIELDS)
_EMPTY: dict[str, tuple[Any, ...]] = {name: () for name in FRAME_FIELDS}
_FRAME_COLUMNS = (
    Account.id,
    Account.cooperation_since,
    Account.industry_leadership,
    Account.reference_value,
    Account.channel_value,
    Account.product_fit,
    Account.expected_growth_pct,
    Account.status,
    *FEATURE_COLUMNS,
)


async def read_frame(
    session: AsyncSession,
    today: date,
    *,
    account_ids: Sequence[str] | None = None,
    with_stored: bool = False,
    partition: int = 10_000,
) -> PortfolioFrame:
    """Every account's scoring inputs as columns (one query, columns only, streamed in partitions); only
    ``account_ids`` when given (the profit share then against their own profit); with the stored score and
    computed tier when asked."""
    extra = (Account.score, Account.computed_tier) if with_stored else ()
    names = (*FRAME_FIELDS, *("stored_score", "stored_tier")[: len(extra)])
    query = select(*_FRAME_COLUMNS, *extra).outerjoin(AccountFeatures, AccountFeatures.account_id == Account.id)
    if account_ids is not None:
        query = query.where(Account.id.in_(account_ids))
    ids: list[str] = []
    statuses: list[str] = []
    profits: list[Decimal] = []
    stored: dict[str, list[Any]] = {"stored_score": [], "stored_tier": []}
    parts: list[dict[str, RawColumn]] = []
    zero = Decimal(0)
    result = await session.stream(query.execution_options(yield_per=partition))
    async for part in result.partitions(partition):
        lists = dict(zip(names, zip(*part, strict=True), strict=True))
        ids.extend(lists["id"])
        statuses.extend(lists["status"])
        profits.extend(
            (p if isinstance(p, Decimal) else Decimal(str(p))) if p else zero for p in lists["annual_profit"]
        )
        for name in stored:
            stored[name].extend(lists.get(name, ()))
        parts.append(indicator_columns(lists, today=today, portfolio_profit=None))
        del lists
        await asyncio.sleep(0)  # keep serving requests while a large portfolio is read
    active = np.array([status != "former" for status in statuses], dtype=bool)
    profit = sum((p for p, a in zip(profits, active.tolist(), strict=True) if a), zero)
    raw = concat_columns(parts) if parts else indicator_columns(_EMPTY, today=today, portfolio_profit=None)
    del parts
    raw["profit_share"] = profit_share_column(profits, profit)
    return PortfolioFrame(PortfolioColumns(ids, active, raw), profit, stored["stored_score"], stored["stored_tier"])


@dataclass
class FrameScores:
    """A scored frame: the compiled model, every account's scores and computed tier."""

    model: BatchModel
    scores: BatchScores
    tiers: list[str]

    def scored(self, frame: PortfolioFrame, indices: Sequence[int]) -> dict[str, tuple[Decimal, str]]:
        """(total, breakdown text) of the accounts at ``indices``, by id."""
        ids = frame.columns.ids
        texts = breakdown_texts(self.model, frame.columns, self.scores, indices)
        return {ids[i]: (self.scores.total(i), text) for i, text in zip(indices, texts, strict=True)}


def score_frame(definition: ModelDefinition, frame: PortfolioFrame) -> FrameScores:
    """Every account's score and computed tier at once (percentiles and the top-N % rule see all of them)."""
    model = BatchModel.of(definition)
    scores = score_columns(model, frame.columns)
    tiers = tiers_of(
        definition.tiers, frame.columns, scores.totals, measure=measure_of(definition.tiers, frame.columns)
    )
    return FrameScores(model, scores, tiers)


async def write_frame(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    frame: PortfolioFrame,
    scored: FrameScores,
    indices: Sequence[int],
    model_version: int,
    now: datetime,
    reason: str = FULL_RESCORE,
    focus: Collection[str] | None = None,
    changed_by: str | None = None,
    unchanged: str = "touch",
) -> int:
    """Write the frame's accounts at ``indices`` (``write_chunk``, breakdowns made for them only)."""
    ids = frame.columns.ids
    return await write_chunk(
        session,
        tables,
        publisher=publisher,
        chunk=[ids[i] for i in indices],
        scored=scored.scored(frame, indices),
        tiers={ids[i]: scored.tiers[i] for i in indices},
        model_version=model_version,
        now=now,
        reason=reason,
        focus=focus,
        changed_by=changed_by,
        unchanged=unchanged,
    )


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
    frame = await read_frame(session, at.today)
    scored = score_frame(parse_definition(model.definition), frame)
    wanted = set(focus)
    moved = 0
    for start in range(0, len(frame.columns), WRITE_BATCH):
        moved += await write_frame(
            session,
            tables,
            publisher=publisher,
            frame=frame,
            scored=scored,
            indices=range(start, min(start + WRITE_BATCH, len(frame.columns))),
            model_version=model.version,
            now=at.now,
            reason=reason,
            focus=wanted,
            changed_by=changed_by,
            unchanged="skip",
        )
        await asyncio.sleep(0)
    mark_scored(state, model_version=model.version, today=at.today, now=at.now)
    return moved


def tiers_against_stored(
    definition: ModelDefinition, frame: PortfolioFrame, scored: FrameScores, indices: Collection[int]
) -> list[str]:
    """Computed tiers when the accounts at ``indices`` take their new scores and every other account keeps its
    stored one (never scored: 0) — the top-N % rule ranks them all, nobody else is re-scored."""
    chosen = np.zeros(len(frame.columns), dtype=bool)
    chosen[list(indices)] = True
    stored = np.array([0 if s is None else int(s * 100) for s in frame.stored_scores], dtype=np.int64)
    totals = np.where(chosen, scored.scores.totals, stored)
    policy = definition.tiers
    return tiers_of(policy, frame.columns, totals, measure=measure_of(policy, frame.columns))


async def score_accounts_alone(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    model: ScoringModelVersion,
    account_ids: Sequence[str],
    at: AsOf,
    reason: str,
    changed_by: str | None = None,
) -> int:
    """Score ``account_ids`` against the stored portfolio (percentiles and profit share over everyone as they are
    now, the top-N % cut-off over the stored scores of the others) and write them alone; returns the tier moves.
    The others' scores are left as stored: the caller marks the portfolio not current for the catch-up job."""
    definition = parse_definition(model.definition)
    frame = await read_frame(session, at.today, with_stored=True)
    scored = score_frame(definition, frame)
    position = {account_id: k for k, account_id in enumerate(frame.columns.ids)}
    indices = [position[i] for i in dict.fromkeys(account_ids) if i in position]
    if definition.tiers.top_percent is not None:
        scored.tiers = tiers_against_stored(definition, frame, scored, indices)
    return await write_frame(
        session,
        tables,
        publisher=publisher,
        frame=frame,
        scored=scored,
        indices=indices,
        model_version=model.version,
        now=at.now,
        reason=reason,
        focus=account_ids,
        changed_by=changed_by,
        unchanged="write",
    )


# Above this many accounts a batch of registrations is scored against the stored portfolio and the others are left
# to the coalesced catch-up job (as an event is: ``ScoringSettings.event_rescore_max_accounts``'s default).
BATCH_RESCORE_MAX_ACCOUNTS = 5000


async def rescore_accounts(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account_ids: Sequence[str],
    at: AsOf,
    reason: str,
    changed_by: str | None = None,
    max_accounts: int | None = None,
) -> int:
    """Score new or changed accounts (an import); returns how many tiers moved.

    Up to ``max_accounts`` accounts (by default ``BATCH_RESCORE_MAX_ACCOUNTS``): one pass over the whole portfolio
    (the others' tiers too: their ranks moved with the new accounts). Above it the cost of a batch must not grow
    with the portfolio: the new accounts are scored at once against the stored portfolio
    (``score_accounts_alone``), the portfolio is marked not current, and the timer's catch-up job (one at a time,
    however many batches asked) re-scores everyone after the batch.
    """
    model = await active_model(session)
    if model is None or not account_ids:
        return 0
    limit = BATCH_RESCORE_MAX_ACCOUNTS if max_accounts is None else max_accounts
    size = int(await session.scalar(select(func.count()).select_from(Account)) or 0)
    if size > limit:
        state = await lock_state(session)
        moved = await score_accounts_alone(
            session,
            tables,
            publisher=publisher,
            model=model,
            account_ids=account_ids,
            at=at,
            reason=reason,
            changed_by=changed_by,
        )
        mark_unsure(state, now=at.now)
        return moved
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
    scored: Mapping[str, tuple[Decimal, str]],
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
        score = scored[i][0]
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


async def _stored_rows(session: AsyncSession, chunk: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """Each account's effective tier, its score fields and its stored score with the breakdown's text.

    Read (and on PostgreSQL locked) inside the writing transaction, so a concurrent single-account re-score cannot
    make the same move twice."""
    query = (
        select(
            Account.id,
            Account.tier,
            Account.score,
            Account.computed_tier,
            Account.model_version,
            AccountScore.model_version,
            AccountScore.total,
            AccountScore.computed_tier,
            type_coerce(AccountScore.breakdown, Text),
        )
        .outerjoin(AccountScore, AccountScore.account_id == Account.id)
        .where(Account.id.in_(chunk))
        .with_for_update(of=Account)
    )
    return {row[0]: tuple(row[1:]) for row in (await session.execute(query)).all()}


def _unchanged(
    chunk: Sequence[str],
    stored: Mapping[str, tuple[Any, ...]],
    scored: Mapping[str, tuple[Decimal, str]],
    tiers: Mapping[str, str],
    overridden: Mapping[str, str],
    model_version: int,
    focus: Collection[str],
    *,
    accounts_too: bool,
) -> list[str]:
    """The accounts whose stored score already holds exactly this score, breakdown, computed tier and model version
    (``accounts_too``: and whose account row holds them and the effective tier they would get)."""
    same = []
    for i in chunk:
        row = stored.get(i)
        if row is None or i in focus:
            continue
        total, text = scored[i]
        tier = tiers[i]
        if row[4:] != (model_version, total, tier, text):
            continue
        if not accounts_too or row[:4] == ((overridden.get(i) or tier), total, tier, model_version):
            same.append(i)
    return same


async def _write_accounts(session: AsyncSession, moves: ChunkMoves) -> None:
    """The account rows of a chunk's scores and moves (Core executemany by id)."""
    table = as_table(Table, Account.__table__)
    by_id = update(table).where(table.c.id == bindparam("b_id"))  # SET from the rows' other keys (executemany)
    for rows in (moves.steady, moves.moved):
        for start in range(0, len(rows), WRITE_BATCH):
            batch = rows[start : start + WRITE_BATCH]
            await session.execute(
                by_id, [{**{k: v for k, v in r.items() if k != "id"}, "b_id": r["id"]} for r in batch]
            )


def scored_results(results: Mapping[str, ScoreResult]) -> dict[str, tuple[Decimal, str]]:
    """(total, breakdown text) of explained scores (``write_chunk``'s input from ``score_account``)."""
    return {i: (r.total, compact_text(r)) for i, r in results.items()}


async def write_chunk(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    chunk: Sequence[str],
    scored: Mapping[str, tuple[Decimal, str]],
    tiers: Mapping[str, str],
    model_version: int,
    now: datetime,
    reason: str = FULL_RESCORE,
    focus: Collection[str] | None = None,
    changed_by: str | None = None,
    unchanged: str = "write",
) -> int:
    """Store one chunk's scores (total, breakdown text) and apply its tier moves in bulk (history, projection, one
    event each).

    ``unchanged``: what becomes of an account whose stored score, breakdown, computed tier and model version are
    already these (``focus`` accounts are always written): ``write`` it all the same, ``touch`` only its
    ``scored_at`` when its account row and effective tier are current too (a full re-score: one statement per
    chunk), or ``skip`` it (the portfolio pass after one account's change: only the differences are written).
    """
    if not chunk:
        return 0
    stored = await _stored_rows(session, chunk)
    current: dict[str, str | None] = {i: row[0] for i, row in stored.items()}
    overridden = await overridden_accounts(session, chunk, now)
    mine, touch = set(focus or ()), unchanged == "touch"
    same = (
        _unchanged(chunk, stored, scored, tiers, overridden, model_version, mine, accounts_too=touch)
        if unchanged != "write"
        else []
    )
    if same and unchanged == "touch":
        await session.execute(update(AccountScore).where(AccountScore.account_id.in_(same)).values(scored_at=now))
        await session.execute(update(Account).where(Account.id.in_(same)).values(scored_at=now))
    skipped = set(same)
    written = [i for i in chunk if i not in skipped]
    with _gc_paused():
        scores = [
            {
                "account_id": i,
                "model_version": model_version,
                "total": scored[i][0],
                "breakdown_text": scored[i][1],
                "computed_tier": tiers[i],
                "scored_at": now,
            }
            for i in written
        ]
    await store_scores(session, scores)
    moves = plan_moves(
        written,
        scored=scored,
        tiers=tiers,
        current=current,
        overridden=overridden,
        model_version=model_version,
        now=now,
        reason=reason,
        focus=focus,
        changed_by=changed_by,
    )
    await _write_accounts(session, moves)
    await record_chunk(session, steady=moves.steady, moved=moves.moved, current=current, now=now)
    if moves.moved:
        projection = tables.accounts
        for start in range(0, len(moves.history), WRITE_BATCH):
            history = as_table(Table, TierChange.__table__)
            await session.execute(insert(history), moves.history[start : start + WRITE_BATCH])
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
