"""The risk service app: ``create_app(settings)``."""

from dataclasses import replace
from pathlib import Path

from fastapi import FastAPI

from services.risk import views
from services.risk.config import RiskSettings
from services.risk.contracts import routes as contract_routes
from services.risk.credit import group_routes, invoice_routes, receivable_routes
from services.risk.credit import routes as credit_routes
from services.risk.fx import routes as fx_routes
from services.risk.handlers import HANDLERS, RiskExtra
from services.risk.jobs import periodic_jobs, seed_on_start
from services.risk.models import audit_log, platform
from services.risk.warnings import routes as warning_routes
from shared.clock import Clock
from shared.service import ServiceSpec, build_service_app

SPEC = ServiceSpec(
    name="risk",
    title="KA Platform — Risk",
    description="Credit, FX rates, exposure, early warning, contingency plans and contract compliance.",
    tables=platform,
    audit=audit_log,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[
        views.router,
        credit_routes.router,
        receivable_routes.router,
        invoice_routes.router,
        group_routes.router,
        warning_routes.router,
        contract_routes.router,
        fx_routes.router,
    ],
    publishes=["risk"],
    handlers=HANDLERS,
    on_start=seed_on_start,
    handler_extra=lambda app: RiskExtra(
        zone=app.state.settings.zone,  # the handlers count business dates in the company's zone
        concentration_event_max_accounts=app.state.settings.concentration_event_max_accounts,
    ),
)


def create_app(settings: RiskSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the risk app (settings from the environment unless given)."""
    settings = settings or RiskSettings()
    return build_service_app(replace(SPEC, jobs=periodic_jobs(settings)), settings, clock=clock)
