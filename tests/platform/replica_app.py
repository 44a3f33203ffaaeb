"""A service run as two (or more) replicas on one database: it consumes ``complaints.opened`` and, in the same
transaction, records the application (no unique constraint: a double application would show) and writes an event
of its own to the outbox (so every replica's relay publishes). Env: ``KAM_REPLICA_*`` as every service."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Column, Integer, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus import HandlerContext
from shared.db import UTCDateTime, add_platform_tables, make_metadata
from shared.events import AccountUpdated, ComplaintOpened
from shared.events.catalogue import AccountSnapshot
from shared.service import ServiceSpec, build_service_app
from shared.settings import ServiceSettings

metadata = make_metadata()
platform = add_platform_tables(metadata)
applications = Table(
    "applications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("replica", Integer, nullable=False),  # the process id that applied it
    Column("echo_id", String(36), nullable=False),  # the id of the event written in the same transaction
    Column("applied_at", UTCDateTime, nullable=False),
)


async def apply(session: AsyncSession, event: ComplaintOpened, ctx: HandlerContext[None]) -> None:
    """Record the application and publish an echo event (outbox, same transaction)."""
    echo = await ctx.publisher.publish(
        session, AccountUpdated, AccountSnapshot(name=event.data.complaint_id), account_id=event.account_id
    )
    await session.execute(
        insert(applications).values(
            event_id=event.id, replica=os.getpid(), echo_id=echo.id, applied_at=datetime.now(UTC)
        )
    )


SPEC = ServiceSpec(
    name="replica",
    title="replica",
    tables=platform,
    migrations_dir=Path(__file__).parent / "no-migrations",
    publishes=["accounts"],
    handlers={ComplaintOpened: [apply]},
)


class ReplicaSettings(ServiceSettings):
    """``KAM_REPLICA_*``."""

    model_config = SettingsConfigDict(env_prefix="KAM_REPLICA_", extra="ignore")
    service_name: str = "replica"
    run_migrations: bool = False


def create_app() -> FastAPI:
    """One replica (uvicorn --factory); the test creates the tables before starting any."""
    return build_service_app(SPEC, ReplicaSettings())
