"""The complaints app: ``create_app(settings)``."""

from dataclasses import replace
from pathlib import Path

from fastapi import FastAPI

from services.complaints.calendars.metrics import register_calendar_gauge
from services.complaints.calendars.routes import router as calendars_router
from services.complaints.calendars.service import load_rules_calendar, seed_calendars
from services.complaints.config import ComplaintsSettings
from services.complaints.handlers import HANDLERS
from services.complaints.improvement.routes import router as improvement_router
from services.complaints.intake.attachment_routes import router as attachments_router
from services.complaints.intake.lifecycle_routes import router as lifecycle_router
from services.complaints.intake.queue_routes import router as queues_router
from services.complaints.intake.routes import router as intake_router
from services.complaints.jobs import jobs_for
from services.complaints.models import audit_log, platform
from services.complaints.reference.routes import router as reference_router
from services.complaints.reference.service import seed_reference_data
from services.complaints.rules import Rules, rules_from_settings
from services.complaints.surveys.policy import survey_rules_from_settings
from services.complaints.surveys.request_routes import router as survey_requests_router
from services.complaints.surveys.respond_routes import router as survey_respond_router
from services.complaints.surveys.routes import router as surveys_router
from services.complaints.surveys.service import seed_templates
from services.complaints.taskforce.routes import lists_router as task_lists_router
from services.complaints.taskforce.routes import router as taskforce_router
from services.complaints.views import router as views_router
from shared.clock import Clock
from shared.service import ServiceSpec, build_service_app


async def _on_start(app: FastAPI) -> None:
    """Seed the taxonomy, policies and shipped calendar years that are missing; load the stored calendar."""
    rules: Rules = app.state.complaint_rules
    now = app.state.clock.now()
    async with app.state.db.transaction() as session:
        await seed_reference_data(session, now=now)
        await seed_calendars(session, files=rules.seed_files, defaults=rules.calendar_defaults, now=now)
        await load_rules_calendar(session, rules=rules)
        await seed_templates(session, now=now)


SPEC = ServiceSpec(
    name="complaints",
    title="KA Platform — Complaints",
    description="24-hour response, one owner, task force, closed loop and improvement.",
    tables=platform,
    audit=audit_log,
    migrations_dir=Path(__file__).parent / "migrations",
    # Fixed paths (/complaints/calendars, /complaints/categories, /complaints/sla-preview, /complaints/analytics,
    # /complaints/views/…) before /complaints/{id}.
    routers=[
        surveys_router,  # /complaints/surveys/… before /complaints/{id}
        survey_requests_router,
        survey_respond_router,
        calendars_router,
        reference_router,
        improvement_router,
        views_router,
        task_lists_router,  # /complaints/tasks, /complaints/departments before /complaints/{id}
        queues_router,  # /complaints/queues/… before /complaints/{id}
        intake_router,
        attachments_router,
        lifecycle_router,
        taskforce_router,
    ],
    publishes=["complaints"],
    handlers=HANDLERS,
    on_start=_on_start,
    handler_extra=lambda app: app.state.complaint_rules,
)


def create_app(settings: ComplaintsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the complaints app (settings from the environment unless given)."""
    settings = settings or ComplaintsSettings()
    app = build_service_app(replace(SPEC, jobs=jobs_for(settings)), settings, clock=clock)
    app.state.complaint_rules = rules_from_settings(settings)
    app.state.survey_rules = survey_rules_from_settings(settings)
    register_calendar_gauge(app)
    return app
