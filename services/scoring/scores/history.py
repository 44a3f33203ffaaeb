"""The score history of every account: a point (score, effective and computed tier, model version, when) recorded
by each score write that changed the score, the effective tier or the model version — a daily re-score that
changes none of them adds nothing — and read back as a time series."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.registry.models import Account, ScorePoint
from shared.api import PageParams

BATCH = 1000
# What a point records besides the account and the instant; a write that changes none of them is not a point.
TRACKED = ("score", "tier", "model_version")


async def _latest(session: AsyncSession, account_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """The tracked values of each account's latest point (one query per batch of accounts)."""
    latest: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(account_ids), BATCH):
        batch = list(account_ids[start : start + BATCH])
        newest = select(func.max(ScorePoint.id)).where(ScorePoint.account_id.in_(batch)).group_by(ScorePoint.account_id)
        rows = await session.execute(
            select(ScorePoint.account_id, ScorePoint.score, ScorePoint.tier, ScorePoint.model_version).where(
                ScorePoint.id.in_(newest)
            )
        )
        latest.update((row[0], tuple(row[1:])) for row in rows)
    return latest


async def record_points(session: AsyncSession, points: Iterable[Mapping[str, Any]]) -> int:
    """Add the points (``account_id``, ``score``, ``tier``, ``computed_tier``, ``model_version``,
    ``recorded_at``) that differ from their account's latest one, in one executemany per batch; returns how many."""
    wanted = {p["account_id"]: p for p in points}  # one point per account and write: the last one given
    if not wanted:
        return 0
    latest = await _latest(session, list(wanted))
    rows = [
        {k: p.get(k) for k in ("account_id", "computed_tier", "recorded_at", *TRACKED)}
        for account_id, p in wanted.items()
        if latest.get(account_id) != tuple(p.get(k) for k in TRACKED)
    ]
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(ScorePoint), rows[start : start + BATCH])
    return len(rows)


async def record_chunk(
    session: AsyncSession,
    *,
    steady: Sequence[Mapping[str, Any]],
    moved: Sequence[Mapping[str, Any]],
    current: Mapping[str, Any],
    now: datetime,
) -> int:
    """The points of a bulk score write (``portfolio.write_chunk``): its account rows whose tier stays (the
    current tier) and those whose tier moves (their new ``tier``)."""
    points = [
        {
            "account_id": row["id"],
            "score": row["score"],
            "tier": row.get("tier", current.get(row["id"])),
            "computed_tier": row["computed_tier"],
            "model_version": row["model_version"],
            "recorded_at": now,
        }
        for row in (*steady, *moved)
    ]
    return await record_points(session, points)


async def record_account(session: AsyncSession, *, account: Account, now: datetime) -> int:
    """The point of one account's write (``tiers.apply_tier``: a score stored, an override applied or ended)."""
    if account.score is None and account.tier is None:
        return 0
    point = {
        "account_id": account.id,
        "score": account.score,
        "tier": account.tier,
        "computed_tier": account.computed_tier,
        "model_version": account.model_version,
        "recorded_at": now,
    }
    return await record_points(session, [point])


async def score_history(
    session: AsyncSession,
    *,
    account_id: str,
    since: datetime | None,
    until: datetime | None,
    page: PageParams,
) -> tuple[list[ScorePoint], int]:
    """A page of an account's points recorded in [``since``, ``until``), oldest first, and how many there are."""
    query = select(ScorePoint).where(ScorePoint.account_id == account_id)
    if since is not None:
        query = query.where(ScorePoint.recorded_at >= since)
    if until is not None:
        query = query.where(ScorePoint.recorded_at < until)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = await session.execute(
        query.order_by(ScorePoint.recorded_at, ScorePoint.id).limit(page.limit).offset(page.offset)
    )
    return list(rows.scalars()), total
