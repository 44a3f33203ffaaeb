"""The complaints service app: ``create_app(settings)``."""

from pathlib import Path

from fastapi import FastAPI

from services.complaints.config import ComplaintsSettings
from services.complaints.handlers import HANDLERS
from services.complaints.models import platform
from services.complaints.routes import router
from shared.clock import Clock
from shared.service import ServiceSpec, build_service_app

SPEC = ServiceSpec(
    name="complaints",
    title="KA Platform — Complaints",
    description="24-hour response, one owner, task force, closed loop and improvement.",
    tables=platform,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    publishes=["complaints"],
    handlers=HANDLERS,
)


def create_app(settings: ComplaintsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the complaints app (settings from the environment unless given)."""
    return build_service_app(SPEC, settings or ComplaintsSettings(), clock=clock)
