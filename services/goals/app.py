"""The goals service app: ``create_app(settings)``."""

from pathlib import Path

from fastapi import FastAPI

from services.goals.config import GoalsSettings
from services.goals.handlers import HANDLERS
from services.goals.models import platform
from services.goals.routes import router
from shared.clock import Clock
from shared.service import ServiceSpec, build_service_app

SPEC = ServiceSpec(
    name="goals",
    title="KA Platform — Goals",
    description="Targets, decomposition, action plans, actuals, forecasts and team scorecards.",
    tables=platform,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    publishes=["goals"],
    handlers=HANDLERS,
)


def create_app(settings: GoalsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the goals app (settings from the environment unless given)."""
    return build_service_app(SPEC, settings or GoalsSettings(), clock=clock)
