"""What the stored scores of the whole portfolio were computed for (model version, business date), and the lock
that keeps every scoring write in one order."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.scores.models import PortfolioState

STATE_ID = 1


async def lock_state(session: AsyncSession) -> PortfolioState:
    """The portfolio state row, locked for this transaction (PostgreSQL: ``FOR UPDATE``; SQLite writers are
    serialised already), created on first use."""
    state = await session.scalar(
        select(PortfolioState)
        .where(PortfolioState.id == STATE_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if state is None:
        state = PortfolioState(id=STATE_ID, generation=0)
        session.add(state)
        await session.flush()
    return state


def is_current(state: PortfolioState, *, model_version: int, today: date) -> bool:
    """Whether every stored score was computed with this model on this business date."""
    return state.model_version == model_version and state.scored_on == today


def mark_scored(state: PortfolioState, *, model_version: int, today: date, now: datetime) -> None:
    """The whole portfolio now holds the scores of this model on this business date."""
    state.model_version, state.scored_on, state.updated_at = model_version, today, now
    state.generation += 1


def mark_written(state: PortfolioState, *, now: datetime) -> None:
    """Some accounts were re-scored (the portfolio stays current)."""
    state.generation += 1
    state.updated_at = now


def mark_unsure(state: PortfolioState, *, now: datetime) -> None:
    """The stored scores may be a mix (a full re-score failed half-way): the next scoring re-scores everyone."""
    state.scored_on = None
    state.updated_at = now
