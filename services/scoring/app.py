"""The scoring service app: ``SPEC`` and ``create_app(settings)``."""

from pathlib import Path

from fastapi import FastAPI

from services.scoring import views
from services.scoring.config import ScoringSettings
from services.scoring.contacts import routes as contact_routes
from services.scoring.engagement import routes as engagement_routes
from services.scoring.handlers import HANDLERS, handler_extra
from services.scoring.jobs import JOBS
from services.scoring.models import audit_log, platform
from services.scoring.playbook import routes as playbook_routes
from services.scoring.registry import hierarchy_routes, review_routes
from services.scoring.registry import routes as registry_routes
from services.scoring.scores import history_routes, model_routes, portfolio_routes
from services.scoring.scores import routes as score_routes
from services.scoring.scores.model_versions import ensure_default_model
from shared.clock import Clock
from shared.service import ServiceSpec, build_service_app


async def publish_default_model(app: FastAPI) -> None:
    """On a fresh database publish the default model so accounts are scored from the start."""
    async with app.state.db.transaction() as session:
        await ensure_default_model(session, now=app.state.clock.now())


SPEC = ServiceSpec(
    name="scoring",
    title="KA Platform — Scoring",
    description="KA registry, explainable scoring, tiers, strategy and engagement.",
    tables=platform,
    audit=audit_log,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[
        review_routes.router,  # first: /accounts/change-requests and /accounts/duplicate-check before /accounts/{id}
        registry_routes.router,
        contact_routes.router,
        hierarchy_routes.router,
        score_routes.router,
        engagement_routes.router,
        model_routes.router,
        portfolio_routes.router,
        playbook_routes.router,
        history_routes.router,
        views.router,
    ],
    publishes=["accounts"],
    handlers=HANDLERS,
    jobs=JOBS,
    on_start=publish_default_model,
    handler_extra=handler_extra,
)


def create_app(settings: ScoringSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the scoring app (settings from the environment unless given)."""
    return build_service_app(SPEC, settings or ScoringSettings(), clock=clock)
