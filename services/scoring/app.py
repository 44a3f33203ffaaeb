"""The scoring service app: ``create_app(settings)``."""

from pathlib import Path

from fastapi import FastAPI

from services.scoring.config import ScoringSettings
from services.scoring.handlers import HANDLERS
from services.scoring.models import platform
from services.scoring.routes import router
from shared.clock import Clock
from shared.service import ServiceSpec, build_service_app

SPEC = ServiceSpec(
    name="scoring",
    title="KA Platform — Scoring",
    description="KA registry, explainable scoring, tiers, strategy and engagement.",
    tables=platform,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    publishes=["accounts"],
    handlers=HANDLERS,
)


def create_app(settings: ScoringSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the scoring app (settings from the environment unless given)."""
    return build_service_app(SPEC, settings or ScoringSettings(), clock=clock)
