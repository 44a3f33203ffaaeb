"""Periodic jobs of the scoring service (``JOBS``) and the full re-score run they and the routes start.

The timers are stored: override expiry is a column, the schedule of the full re-score is the jobs table, and the
engagement overdue notices published are rows (``engagement_overdue_notices``).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.config import ScoringSettings
from services.scoring.engagement.service import announce_overdue_engagements
from services.scoring.features import AsOf
from services.scoring.models import platform
from services.scoring.scores.rescore_jobs import (
    portfolio_behind,
    request_rescore,
    run_rescore_job,
    scheduled_rescore_due,
)
from services.scoring.scores.tiers import expire_overrides
from shared.service import PeriodicJob


async def run_rescore(app: FastAPI, job_id: str) -> None:
    """Run a queued full re-score job to its end (chunks of ``rescore_chunk_size`` accounts)."""
    settings: ScoringSettings = app.state.settings
    await run_rescore_job(
        app.state.db,
        platform,
        publisher=app.state.publisher,
        job_id=job_id,
        now=app.state.clock.now,
        zone=settings.zone,
        chunk_size=settings.rescore_chunk_size,
    )


async def _queue_scheduled_rescore(session: AsyncSession, settings: ScoringSettings, now: datetime) -> str | None:
    """The id of a new job when one is due: the scheduled one (the interval passed or a business day began in the
    company zone), or a catch-up when the stored scores are behind (``portfolio_behind``; even with the schedule
    off, since the scores' consistency depends on it)."""
    if settings.scheduled_rescore and await scheduled_rescore_due(
        session, now=now, interval_seconds=settings.rescore_interval_seconds, zone=settings.zone
    ):
        trigger = "schedule"
    elif await portfolio_behind(session, now=now, zone=settings.zone):
        trigger = "catch_up"
    else:
        return None
    job, new = await request_rescore(session, trigger=trigger, actor_id="system", now=now)
    return job.id if new else None


async def run_timers(app: FastAPI) -> None:
    """Expire tier overrides whose time is up, announce engagement levels that fell overdue (once per period, in
    their own transaction, so a long re-score does not hold them back), and start the scheduled or catch-up full
    re-score when it is due."""
    settings: ScoringSettings = app.state.settings
    now = app.state.clock.now()
    async with app.state.db.transaction() as session:
        await expire_overrides(session, platform, publisher=app.state.publisher, now=now)
        job_id = await _queue_scheduled_rescore(session, settings, now)
    async with app.state.db.transaction() as session:
        await announce_overdue_engagements(session, publisher=app.state.publisher, at=AsOf(now, settings.zone))
    if job_id is not None:
        await run_rescore(app, job_id)


JOBS = [PeriodicJob(name="scoring-timers", run=run_timers)]
