"""Full re-score jobs: queued → running → succeeded or failed, with visible progress, and the stored schedule."""

from __future__ import annotations

import gc
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.registry.models import Account
from services.scoring.scores.model_versions import active_model
from services.scoring.scores.models import RescoreJob
from services.scoring.scores.portfolio import portfolio_rows, score_portfolio, write_chunk
from services.scoring.scores.service import portfolio_profit
from services.scoring.scoring_model import ScoreResult, parse_definition
from shared.bus import Publisher
from shared.db import Database, PlatformTables
from shared.errors import InvalidTransition, NotFound

log = logging.getLogger("kam.scoring")

# The life of a job: queued until it starts, running while it writes chunks, then succeeded or failed.
JOB_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "failed"}),
    "running": frozenset({"succeeded", "failed"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
}
OPEN_STATUSES = tuple(status for status, targets in JOB_TRANSITIONS.items() if targets)


def _may_move(current: str, target: str) -> bool:
    return target in JOB_TRANSITIONS.get(current, frozenset())


def move_job(job: RescoreJob, target: str) -> None:
    """Change the job's status, refusing a move the table does not list (409)."""
    if not _may_move(job.status, target):
        raise InvalidTransition(
            f"Re-score job {job.id} is {job.status}; it cannot become {target}",
            current=job.status,
            allowed=sorted(JOB_TRANSITIONS.get(job.status, frozenset())),
        )
    job.status = target


async def request_rescore(
    session: AsyncSession, *, trigger: str, actor_id: str, now: datetime
) -> tuple[RescoreJob, bool]:
    """A queued job (or the one already queued or running); True when it is new."""
    existing = await session.scalar(
        select(RescoreJob).where(RescoreJob.status.in_(OPEN_STATUSES)).order_by(RescoreJob.created_at)
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
        requested_by=actor_id,
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
    db: Database,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    job_id: str,
    now: Callable[[], datetime],
    chunk_size: int = 2000,
) -> RescoreJob:
    """Score the whole portfolio in memory, then write scores and tier moves chunk by chunk with progress."""
    try:
        return await _run_rescore_job(db, tables, publisher=publisher, job_id=job_id, now=now, chunk_size=chunk_size)
    except InvalidTransition:
        raise  # the job is not this run's to fail: it was not queued, or another run ended it
    except Exception as exc:
        log.exception("re-score job failed", extra={"job_id": job_id})
        async with db.transaction() as session:
            job = await session.get(RescoreJob, job_id)
            if job is not None and _may_move(job.status, "failed"):
                move_job(job, "failed")
                job.error, job.finished_at = f"{type(exc).__name__}: {exc}"[:4000], now()
        raise


async def _run_rescore_job(
    db: Database,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    job_id: str,
    now: Callable[[], datetime],
    chunk_size: int,
) -> RescoreJob:
    started = now()
    async with db.transaction() as session:
        model = await active_model(session)
        profit = await portfolio_profit(session)
        rows = await portfolio_rows(session)
        job = await get_job(session, job_id=job_id)
        move_job(job, "running")
        job.started_at, job.total = started, len(rows)
        job.model_version = model.version if model else None
    if model is None:
        return await _finish_job(db, job_id=job_id, now=now(), changes=0)
    results, tiers = await score_portfolio(parse_definition(model.definition), rows, profit, started.date())
    del rows
    # The scored portfolio lives until the job ends: keep the collector from rescanning it after every chunk
    # (collect first, or the garbage of the scoring pass is frozen with it).
    gc.collect()
    gc.freeze()
    try:
        return await _write_results(
            db,
            tables,
            publisher=publisher,
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
    publisher: Publisher,
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
            changes += await write_chunk(
                session,
                tables,
                publisher=publisher,
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


async def _finish_job(db: Database, *, job_id: str, now: datetime, changes: int) -> RescoreJob:
    async with db.transaction() as session:
        job = await get_job(session, job_id=job_id)
        move_job(job, "succeeded")
        job.finished_at, job.tier_changes = now, changes
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
