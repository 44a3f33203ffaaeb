"""A consumer of ``complaints.opened`` run as its own process: records every application (no unique constraint), so
a test can see an event applied twice. Env: ``KAM_PROBE_DATABASE_URL``, ``KAM_PROBE_NATS_URL`` (as every service)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Column, Integer, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus import HandlerContext
from shared.db import UTCDateTime, add_platform_tables, make_metadata
from shared.events import ComplaintOpened
from shared.service import ServiceSpec, build_service_app
from shared.settings import ServiceSettings

metadata = make_metadata()
platform = add_platform_tables(metadata)
applications = Table(
    "applications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("complaint_id", String(36), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)


async def record(session: AsyncSession, event: ComplaintOpened, ctx: HandlerContext[None]) -> None:
    """One row per application of the event."""
    await session.execute(
        insert(applications).values(
            event_id=event.id, complaint_id=event.data.complaint_id, applied_at=datetime.now(UTC)
        )
    )


async def _create_tables(app: FastAPI) -> None:
    async with app.state.db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


SPEC = ServiceSpec(
    name="probe",
    title="probe",
    tables=platform,
    migrations_dir=Path(__file__).parent / "no-migrations",
    handlers={ComplaintOpened: [record]},
    on_start=_create_tables,
)


class ProbeSettings(ServiceSettings):
    """``KAM_PROBE_*``."""

    model_config = SettingsConfigDict(env_prefix="KAM_PROBE_", extra="ignore")
    service_name: str = "probe"
    run_migrations: bool = False


def create_app() -> FastAPI:
    """The probe consumer (uvicorn --factory)."""
    return build_service_app(SPEC, ProbeSettings())
