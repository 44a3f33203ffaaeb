"""The scoring service app: ``create_app(settings)``."""

from pathlib import Path

from fastapi import FastAPI

from services.scoring.config import ScoringSettings
from services.scoring.handlers import HANDLERS
from services.scoring.model_versions import ensure_default_model
from services.scoring.models import platform
from services.scoring.rescoring import request_rescore, run_rescore_job, scheduled_rescore_due
from services.scoring.routes import router
from services.scoring.tiers import expire_overrides
from shared.clock import Clock
from shared.service import PeriodicJob, ServiceSpec, build_service_app


async def publish_default_model(app: FastAPI) -> None:
    """On a fresh database publish the default model so accounts are scored from the start."""
    async with app.state.db.transaction() as session:
        await ensure_default_model(session, now=app.state.clock.now())


async def run_timers(app: FastAPI) -> None:
    """Expire tier overrides whose time is up, and start the scheduled full re-score when it is due."""
    settings: ScoringSettings = app.state.settings
    now = app.state.clock.now()
    async with app.state.db.transaction() as session:
        await expire_overrides(session, platform, now=now)
        job_id = None
        if settings.scheduled_rescore and await scheduled_rescore_due(
            session, now=now, interval_seconds=settings.rescore_interval_seconds
        ):
            job, new = await request_rescore(session, trigger="schedule", user_id="system", now=now)
            job_id = job.id if new else None
    if job_id is not None:
        await run_rescore_job(
            app.state.db, platform, job_id=job_id, now=app.state.clock.now, chunk_size=settings.rescore_chunk_size
        )


SPEC = ServiceSpec(
    name="scoring",
    title="KA Platform — Scoring",
    description="KA registry, explainable scoring, tiers, strategy and engagement.",
    tables=platform,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    publishes=["accounts"],
    handlers=HANDLERS,
    jobs=[PeriodicJob(name="scoring-timers", run=run_timers)],
    on_start=publish_default_model,
)


def create_app(settings: ScoringSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the scoring app (settings from the environment unless given)."""
    return build_service_app(SPEC, settings or ScoringSettings(), clock=clock)
