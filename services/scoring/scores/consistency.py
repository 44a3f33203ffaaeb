"""Scores that do not depend on the order events arrived in.

After any change of one account (an event, a rating, a contact, a registration), the stored scores and tiers of
the whole portfolio are exactly what a full re-score with the same model gives:

- the account's *footprint* (its raw values other accounts depend on: ``scoring_model.portfolio_inputs``) is
  taken before and after the change;
- when it moved, or the portfolio was last scored on an earlier business date or under another model, every
  account is scored in memory and each one whose score or tier differs is written (``portfolio.rescore_portfolio``);
- otherwise the account alone is scored against the stored portfolio, which is current, so the result is the one
  a full re-score would give; a top-N % set that would move makes it a whole-portfolio pass after all.

An event on a portfolio larger than ``event_rescore_max_accounts`` marks the portfolio not current (re-scoring its
account alone first when the model does not score against the portfolio); the timer's catch-up job
(``jobs.run_timers``, every ``timer_interval_seconds``) then re-scores everyone, once for all events since.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.features import AsOf, indicator_values
from services.scoring.registry.models import Account
from services.scoring.scores.model_versions import active_model
from services.scoring.scores.models import AccountFeatures, AccountScore, ScoringModelVersion
from services.scoring.scores.portfolio import (
    ACCOUNT_COLUMNS,
    FEATURE_COLUMNS,
    read_frame,
    rescore_portfolio,
    score_frame,
    tiers_against_stored,
    write_frame,
)
from services.scoring.scores.portfolio_state import is_current, lock_state, mark_unsure, mark_written
from services.scoring.scoring_model import (
    Footprint,
    ModelDefinition,
    is_portfolio_relative,
    moves_portfolio,
    parse_definition,
    tier_for_score,
)
from shared.bus import Publisher
from shared.db import PlatformTables


async def footprint(session: AsyncSession, *, account_id: str, at: AsOf) -> Footprint | None:
    """The account's raw indicator values and whether it is active (None: not registered)."""
    account = await session.get(Account, account_id)
    if account is None:
        return None
    features = await session.get(AccountFeatures, account_id)
    values = indicator_values(
        account={c.key: getattr(account, c.key) for c in ACCOUNT_COLUMNS},
        features={c.key: getattr(features, c.key) for c in FEATURE_COLUMNS} if features else None,
        today=at.today,
        portfolio_profit=Decimal(0),
    )
    return Footprint.of(values, active=account.status != "former")


async def _rescore_alone(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    model: ScoringModelVersion,
    definition: ModelDefinition,
    account_id: str,
    at: AsOf,
    reason: str,
    actor_id: str | None,
    strict: bool = True,
) -> bool:
    """Score one account against the stored (current) portfolio; False, writing nothing, when its new score would
    move another account's tier (the top-N % set), which only a whole-portfolio pass may do (``strict=False``:
    write it all the same, the others follow at the catch-up)."""
    relative = is_portfolio_relative(definition)
    frame = await read_frame(session, at.today, account_ids=None if relative else [account_id], with_stored=True)
    scored = score_frame(definition, frame)
    k = frame.index(account_id)
    policy = definition.tiers
    tier = tier_for_score(scored.scores.total(k), policy.thresholds)
    if policy.top_percent is not None:
        others = [i for i in np.flatnonzero(frame.columns.active).tolist() if i != k]
        if strict and any(frame.stored_scores[i] is None for i in others):
            return False
        tiers = tiers_against_stored(definition, frame, scored, [k])
        if strict and any(tiers[i] != frame.stored_tiers[i] for i in others):
            return False
        tier = tiers[k]
    scored.tiers[k] = tier
    await write_frame(
        session,
        tables,
        publisher=publisher,
        frame=frame,
        scored=scored,
        indices=[k],
        model_version=model.version,
        now=at.now,
        reason=reason,
        focus=[account_id],
        changed_by=actor_id,
        unchanged="write",
    )
    return True


async def _portfolio_size(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Account)) or 0)


async def _scored_with(session: AsyncSession, account_id: str, model_version: int) -> bool:
    stored = await session.get(AccountScore, account_id)
    return stored is not None and stored.model_version == model_version


async def settle_change(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account_id: str,
    before: Footprint | None,
    at: AsOf,
    reason: str,
    actor_id: str | None = None,
    force: bool = False,
    max_accounts: int | None = None,
) -> None:
    """Bring the stored scores up to date after one account changed from ``before`` (None: it was not registered).

    ``force`` re-scores the account even when nothing about it changed (a manual re-score); ``max_accounts``: a
    larger portfolio is not re-scored as a whole here but left to the catch-up job.
    """
    model = await active_model(session)
    if model is None:
        return
    definition = parse_definition(model.definition)
    state = await lock_state(session)
    after = await footprint(session, account_id=account_id, at=at)
    if before is None and after is None:
        return  # an event for an account not registered yet: kept for when it is
    current = is_current(state, model_version=model.version, today=at.today)
    if current and not moves_portfolio(definition, before, after):
        if after is None:
            return
        if not force and before == after and await _scored_with(session, account_id, model.version):
            return
        if await _rescore_alone(
            session,
            tables,
            publisher=publisher,
            model=model,
            definition=definition,
            account_id=account_id,
            at=at,
            reason=reason,
            actor_id=actor_id,
        ):
            mark_written(state, now=at.now)
            return
    if max_accounts is not None and await _portfolio_size(session) > max_accounts:
        # A model scored against the portfolio would read all of it to score this one account — for every event of
        # a bulk import; its scores wait for the catch-up instead, which scores everyone once for all events since.
        if after is not None and not is_portfolio_relative(definition):
            await _rescore_alone(
                session,
                tables,
                publisher=publisher,
                model=model,
                definition=definition,
                account_id=account_id,
                at=at,
                reason=reason,
                actor_id=actor_id,
                strict=False,
            )
        mark_unsure(state, now=at.now)
        return
    await rescore_portfolio(
        session,
        tables,
        publisher=publisher,
        model=model,
        at=at,
        reason=reason,
        focus=[account_id] if after is not None else [],
        changed_by=actor_id,
        windows_current=current,
    )


@asynccontextmanager
async def rescoring(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account_id: str,
    at: AsOf,
    reason: str,
    actor_id: str | None = None,
    max_accounts: int | None = None,
) -> AsyncIterator[None]:
    """Wrap a change of one account: its footprint is taken before, the scores are settled after (not on error)."""
    before = await footprint(session, account_id=account_id, at=at)
    yield
    await settle_change(
        session,
        tables,
        publisher=publisher,
        account_id=account_id,
        before=before,
        at=at,
        reason=reason,
        actor_id=actor_id,
        max_accounts=max_accounts,
    )


async def rescore_account(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account_id: str,
    at: AsOf,
    reason: str,
    actor_id: str | None = None,
) -> None:
    """Score one account now with the published model (the portfolio too, if it is not current)."""
    before = await footprint(session, account_id=account_id, at=at)
    await settle_change(
        session,
        tables,
        publisher=publisher,
        account_id=account_id,
        before=before,
        at=at,
        reason=reason,
        actor_id=actor_id,
        force=True,
    )
