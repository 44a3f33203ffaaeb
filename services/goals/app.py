"""The goals service app: ``create_app(settings)``."""

import logging
from pathlib import Path

from fastapi import FastAPI

from services.goals import views
from services.goals.actions.routes import router as actions_router
from services.goals.actuals.aggregates import align_years
from services.goals.actuals.routes import router as actuals_router
from services.goals.analysis.routes import router as analysis_router
from services.goals.catalogue.routes import router as catalogue_router
from services.goals.catalogue.sharing import announce_on_start
from services.goals.config import GoalsSettings
from services.goals.currencies.routes import router as currencies_router
from services.goals.forecasts.routes import router as forecasts_router
from services.goals.handlers import HANDLERS
from services.goals.jobs import JOBS
from services.goals.models import audit_log, platform
from services.goals.plans.routes import router as plans_router
from services.goals.projects.routes import router as projects_router
from services.goals.scorecards.routes import router as scorecards_router
from services.goals.targets.routes import router as targets_router
from shared.bus import Publisher
from shared.clock import Clock
from shared.service import ServiceSpec, build_service_app

log = logging.getLogger(__name__)

SPEC = ServiceSpec(
    name="goals",
    title="KA Platform — Goals",
    description="Targets, decomposition, action plans, actuals, forecasts, team scorecards, account plans and "
    "cross-department projects.",
    tables=platform,
    audit=audit_log,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[
        targets_router,
        analysis_router,
        scorecards_router,
        forecasts_router,
        actions_router,
        actuals_router,
        currencies_router,
        plans_router,
        projects_router,
        catalogue_router,
        views.router,
    ],
    publishes=["goals"],
    handlers=HANDLERS,
    handler_extra=lambda app: app.state.settings,  # handlers get the goals settings (zone, fiscal calendar)
    jobs=JOBS,
    on_start=lambda app: on_start(app),
)


async def on_start(app: FastAPI) -> None:
    """At start-up: the year totals counted in the configured fiscal calendar (rebuilt when it changed), and the
    product catalogue announced when it changed since (catalogue/sharing.py)."""
    async with app.state.db.transaction() as session:
        if await align_years(session, start_month=app.state.settings.fiscal_year_start_month):
            log.info(
                "sales year totals rebuilt for fiscal years starting in month %s",
                app.state.settings.fiscal_year_start_month,
            )
    await announce_on_start(app)


def create_app(settings: GoalsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the goals app (settings from the environment unless given)."""
    return build_service_app(SPEC, settings or GoalsSettings(), clock=clock)


def goals_publisher(clock: Clock) -> Publisher:
    """The goals publisher for work outside the app (``kam import``, benchmarks): the app's own is
    ``app.state.publisher``."""
    return Publisher(service=SPEC.name, outbox=SPEC.tables.outbox, clock=clock)
