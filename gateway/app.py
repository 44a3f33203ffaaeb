"""The gateway app: ``create_app(settings)``."""

from pathlib import Path

from fastapi import FastAPI

from gateway.config import GatewaySettings
from gateway.models import platform
from shared.clock import Clock
from shared.projection import PROJECTION_HANDLERS
from shared.service import ServiceSpec, build_service_app

SPEC = ServiceSpec(
    name="gateway",
    title="KA Platform API",
    description="The public API of the KA Platform.",
    tables=platform,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=PROJECTION_HANDLERS,
)


def create_app(settings: GatewaySettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the gateway app (settings from the environment unless given)."""
    return build_service_app(SPEC, settings or GatewaySettings(), clock=clock)
