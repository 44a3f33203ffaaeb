"""The goals service app: ``create_app(settings)``."""

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import select

from services.goals.config import GoalsSettings
from services.goals.handlers import HANDLERS
from services.goals.models import Target, platform
from services.goals.routes import router
from services.goals.tracking import evaluate_accounts
from shared.clock import Clock
from shared.service import PeriodicJob, ServiceSpec, build_service_app


async def retrack_targets(app: FastAPI) -> None:
    """Re-evaluate approved targets as time passes (a run-rate falls when no sales come in)."""
    settings: GoalsSettings = app.state.settings
    now = app.state.clock.now()
    recent = str(now.year - 1)
    async with app.state.db.transaction() as session:
        account_ids = set(
            await session.scalars(
                select(Target.account_id)
                .where(Target.status == "approved", Target.account_id.is_not(None), Target.period >= recent)
                .distinct()
            )
        )
        await evaluate_accounts(session, account_ids={a for a in account_ids if a}, settings=settings, now=now)


SPEC = ServiceSpec(
    name="goals",
    title="KA Platform — Goals",
    description="Targets, decomposition, action plans, actuals, forecasts and team scorecards.",
    tables=platform,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    publishes=["goals"],
    handlers=HANDLERS,
    jobs=[PeriodicJob("retrack-targets", run=retrack_targets, interval_seconds=timedelta(hours=1).total_seconds())],
)


def create_app(settings: GoalsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the goals app (settings from the environment unless given)."""
    return build_service_app(SPEC, settings or GoalsSettings(), clock=clock)
