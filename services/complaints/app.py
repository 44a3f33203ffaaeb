"""The complaints app: ``create_app(settings)``."""

from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.complaints.config import ComplaintsSettings
from services.complaints.handlers import HANDLERS
from services.complaints.models import platform
from services.complaints.routes import router
from services.complaints.service import check_sla_timers, rules_from_settings, seed_reference_data
from shared.clock import Clock
from shared.service import PeriodicJob, ServiceSpec, build_service_app


async def run_sla_check(app: FastAPI) -> dict[str, Any]:
    """One pass of the SLA timers against the app's clock, in its own transaction (the periodic job)."""
    async with app.state.db.transaction() as session:
        return await check_sla_timers(session=session, now=app.state.clock.now(), rules=app.state.complaint_rules)


async def _on_start(app: FastAPI) -> None:
    async with app.state.db.transaction() as session:
        await seed_reference_data(session=session, now=app.state.clock.now())


SPEC = ServiceSpec(
    name="complaints",
    title="KA Platform — Complaints",
    description="24-hour response, one owner, task force, closed loop and improvement.",
    tables=platform,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    publishes=["complaints"],
    handlers=HANDLERS,
    on_start=_on_start,
    handler_extra=lambda app: app.state.complaint_rules,
)


def create_app(settings: ComplaintsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the complaints app (settings from the environment unless given)."""
    settings = settings or ComplaintsSettings()
    jobs = [PeriodicJob("sla-timers", run_sla_check, settings.sla_check_interval_seconds)]
    spec = replace(SPEC, jobs=jobs if settings.sla_check_enabled else [])
    app = build_service_app(spec, settings, clock=clock)
    app.state.complaint_rules = rules_from_settings(settings)
    return app
