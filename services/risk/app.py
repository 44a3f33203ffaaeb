"""The risk service app: ``create_app(settings)``."""

from dataclasses import replace
from pathlib import Path

from fastapi import FastAPI

from services.risk.config import RiskSettings
from services.risk.handlers import HANDLERS
from services.risk.jobs import contract_reminders_job, risk_watch_job, seed_on_start
from services.risk.models import platform
from services.risk.routes import router
from shared.clock import Clock
from shared.service import PeriodicJob, ServiceSpec, build_service_app

SPEC = ServiceSpec(
    name="risk",
    title="KA Platform — Risk",
    description="Credit, exposure, early warning, contingency plans and contract compliance.",
    tables=platform,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    publishes=["risk"],
    handlers=HANDLERS,
    on_start=seed_on_start,
)


def create_app(settings: RiskSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the risk app (settings from the environment unless given)."""
    settings = settings or RiskSettings()
    jobs = (
        [
            PeriodicJob("contract-expiry-reminders", contract_reminders_job, settings.jobs_interval_seconds),
            PeriodicJob("risk-watch", risk_watch_job, settings.jobs_interval_seconds),
        ]
        if settings.jobs_enabled
        else []
    )
    return build_service_app(replace(SPEC, jobs=jobs), settings, clock=clock)
