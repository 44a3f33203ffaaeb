"""The notifications service app: ``create_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from fastapi import FastAPI

from services.notifications.config import NotificationsSettings
from services.notifications.delivery_log import routes as delivery_routes
from services.notifications.handlers import HANDLERS
from services.notifications.inbox import routes as inbox_routes
from services.notifications.jobs import JOBS, periodic_jobs, start_notifications
from services.notifications.models import audit_log, platform
from services.notifications.preferences import routes as preference_routes
from services.notifications.robots import routes as robot_routes
from services.notifications.routing import routes as routing_routes
from services.notifications.teams import routes as team_routes
from services.notifications.webhooks import routes as webhook_routes
from shared.clock import Clock
from shared.service import ServiceSpec, build_service_app

SPEC = ServiceSpec(
    name="notifications",
    title="KA Platform — Notifications",
    description=(
        "Tells the right person, on the channel they use, exactly once: routing rules, preferences (quiet hours, "
        "daily digest), the in-app inbox, email over SMTP, signed webhooks and WeCom / DingTalk / Feishu robots, "
        "with a delivery log."
    ),
    tables=platform,
    audit=audit_log,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[
        inbox_routes.router,
        preference_routes.router,
        routing_routes.router,
        team_routes.router,
        robot_routes.router,
        webhook_routes.router,
        delivery_routes.router,
    ],
    handlers=HANDLERS,
    handler_extra=lambda app: app.state.settings,  # handlers get the settings (zone, console link, channels)
    on_start=start_notifications,
    jobs=JOBS,
)


def create_app(settings: NotificationsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the notifications app (settings from the environment unless given)."""
    settings = settings or NotificationsSettings()
    app = build_service_app(replace(SPEC, jobs=periodic_jobs(settings)), settings, clock=clock)
    base_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with base_lifespan(app):
                yield
        finally:  # after the jobs have stopped
            http = getattr(app.state, "http", None)
            if http is not None:
                await http.aclose()

    app.router.lifespan_context = lifespan
    return app
