"""Full re-score jobs: queued → running → succeeded or failed, with visible progress, and the stored schedule."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.features import AsOf
from services.scoring.registry.models import Account
from services.scoring.scores.feature_store import refresh_stale_windows
from services.scoring.scores.model_versions import active_model
from services.scoring.scores.models import PortfolioState, RescoreJob
from services.scoring.scores.portfolio import (
    FULL_RESCORE,
    FrameScores,
    PortfolioFrame,
    read_frame,
    rescore_portfolio,
    score_frame,
    write_frame,
)
from services.scoring.scores.portfolio_state import STATE_ID, is_current, lock_state, mark_scored, mark_unsure
from services.scoring.scoring_model import ModelDefinition, parse_definition
from shared.bus import Publisher
from shared.clock import business_date
from shared.db import Database, PlatformTables
from shared.errors import InvalidTransition, NotFound

JOB_ACTOR = "rescore-job"

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


async def portfolio_rows(session: AsyncSession, today: date) -> PortfolioFrame:
    """The portfolio's scoring inputs as columns (``portfolio.read_frame``)."""
    return await read_frame(session, today)


async def score_portfolio(definition: ModelDefinition, frame: PortfolioFrame) -> FrameScores:
    """Every account's score and computed tier at once (``portfolio.score_frame``)."""
    return score_frame(definition, frame)


async def run_rescore_job(
    db: Database,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    job_id: str,
    now: Callable[[], datetime],
    zone: ZoneInfo,
    chunk_size: int = 2000,
) -> RescoreJob:
    """Score the whole portfolio in memory, then write scores and tier moves chunk by chunk with progress."""
    try:
        return await _run_rescore_job(
            db, tables, publisher=publisher, job_id=job_id, now=now, zone=zone, chunk_size=chunk_size
        )
    except InvalidTransition:
        raise  # the job is not this run's to fail: it was not queued, or another run ended it
    except Exception as exc:
        log.exception("re-score job failed", extra={"job_id": job_id})
        async with db.transaction() as session:
            job = await session.get(RescoreJob, job_id)
            if job is not None and _may_move(job.status, "failed"):
                move_job(job, "failed")
                job.error, job.finished_at = f"{type(exc).__name__}: {exc}"[:4000], now()
            mark_unsure(await lock_state(session), now=now())
        raise


async def _run_rescore_job(
    db: Database,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    job_id: str,
    now: Callable[[], datetime],
    zone: ZoneInfo,
    chunk_size: int,
) -> RescoreJob:
    at = AsOf(now(), zone)
    async with db.transaction() as session:
        state = await lock_state(session)
        model = await active_model(session)
        await refresh_stale_windows(session, at=at)
        frame = await portfolio_rows(session, at.today)
        job = await get_job(session, job_id=job_id)
        move_job(job, "running")
        job.started_at, job.total = at.now, len(frame.columns)
        job.model_version = model.version if model else None
        if model is not None:
            # From here on the portfolio counts as scored for today; events during the run bump the generation.
            mark_scored(state, model_version=model.version, today=at.today, now=at.now)
        generation = state.generation
    if model is None:
        return await _finish_job(db, tables, publisher=publisher, job_id=job_id, now=now, at=at, changes=0)
    # Scores and tiers of everyone at once, as arrays (batch_scoring); breakdowns are made chunk by chunk.
    scored = await score_portfolio(parse_definition(model.definition), frame)
    changes = await _write_results(
        db,
        tables,
        publisher=publisher,
        job_id=job_id,
        frame=frame,
        scored=scored,
        model_version=model.version,
        now=now,
        chunk_size=chunk_size,
    )
    return await _finish_job(
        db, tables, publisher=publisher, job_id=job_id, now=now, at=at, changes=changes, generation=generation
    )


async def _write_results(
    db: Database,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    job_id: str,
    frame: PortfolioFrame,
    scored: FrameScores,
    model_version: int,
    now: Callable[[], datetime],
    chunk_size: int,
) -> int:
    total = len(frame.columns)
    changes = 0
    for start in range(0, total, chunk_size):
        indices = range(start, min(start + chunk_size, total))
        async with db.transaction() as session:
            changes += await write_frame(
                session,
                tables,
                publisher=publisher,
                frame=frame,
                scored=scored,
                indices=indices,
                model_version=model_version,
                now=now(),
                changed_by=JOB_ACTOR,
            )
            await session.execute(
                update(RescoreJob).where(RescoreJob.id == job_id).values(done=indices.stop, tier_changes=changes)
            )
    return changes


async def _finish_job(
    db: Database,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    job_id: str,
    now: Callable[[], datetime],
    at: AsOf,
    changes: int,
    generation: int | None = None,
) -> RescoreJob:
    async with db.transaction() as session:
        state = await lock_state(session)
        job = await get_job(session, job_id=job_id)
        model = await active_model(session)
        if (
            model is not None
            and generation is not None
            and (state.generation, model.version)
            != (
                generation,
                job.model_version,
            )
        ):
            # Events re-scored accounts while the chunks were written, or another model was published: catch up
            # in one pass (writing only the differences), so the job ends with what a full re-score gives.
            changes += await rescore_portfolio(
                session,
                tables,
                publisher=publisher,
                model=model,
                at=AsOf(now(), at.zone),
                reason=FULL_RESCORE,
                changed_by=JOB_ACTOR,
            )
        move_job(job, "succeeded")
        job.finished_at, job.tier_changes = now(), changes
        job.done = job.total
        await session.flush()
        return job


async def scheduled_rescore_due(
    session: AsyncSession, *, now: datetime, interval_seconds: float, zone: ZoneInfo
) -> bool:
    """Whether the stored timer says a scheduled full re-score is due (and there is something to score): the
    interval has passed, or a new business day began (company zone) since the last one."""
    if not await session.scalar(select(func.count()).select_from(Account)):
        return False
    last = await session.scalar(
        select(func.max(RescoreJob.created_at)).where(
            and_(
                RescoreJob.trigger.in_(("schedule", "catch_up", "manual", "model_published")),
                RescoreJob.status != "failed",
            )
        )
    )
    if last is None:
        return True
    return last <= now - timedelta(seconds=interval_seconds) or business_date(last, zone) < business_date(now, zone)


async def portfolio_behind(session: AsyncSession, *, now: datetime, zone: ZoneInfo) -> bool:
    """Whether the stored scores are not known to be what a full re-score gives today: a business day began, a
    model was published, a job failed half-way, or an event on a large portfolio left the others to catch up."""
    model = await active_model(session)
    if model is None or not await session.scalar(select(func.count()).select_from(Account)):
        return False
    state = await session.get(PortfolioState, STATE_ID)
    return state is None or not is_current(state, model_version=model.version, today=business_date(now, zone))
