"""A tiny consumer service for bus tests: it records every application of every event it handles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Column, Integer, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import State

from shared.bus import HandlerContext
from shared.db import Database, UTCDateTime, add_platform_tables, make_metadata
from shared.events import AccountRegistered
from shared.service import ServiceSpec, build_service_app
from shared.settings import ServiceSettings
from tests.support import service_settings

metadata = make_metadata()
platform = add_platform_tables(metadata)
applications = Table(
    "applications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("name", String(200), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
    Column("tx", String(32), nullable=False),  # which transaction applied it (the consumer groups events)
)


async def record(session: AsyncSession, event: AccountRegistered, ctx: HandlerContext[State]) -> None:
    """Fail for 'poison' names while the app says so; otherwise record the application."""
    if event.data.name.startswith("poison") and ctx.extra.poison_fails:
        raise RuntimeError(f"cannot handle {event.data.name}")
    await session.execute(
        insert(applications).values(
            event_id=event.id,
            name=event.data.name,
            applied_at=datetime.now(UTC),
            tx=session.info.setdefault("probe_tx", uuid.uuid4().hex),
        )
    )


SPEC = ServiceSpec(
    name="probe",
    title="probe",
    tables=platform,
    migrations_dir=Path(__file__).parent / "no-migrations",
    handlers={AccountRegistered: [record]},
    handler_extra=lambda app: app.state,  # the tests switch poison_fails on the app's state
)


class ProbeSettings(ServiceSettings):
    service_name: str = "probe"


async def create_probe_tables(url: str) -> None:
    """The probe has no migrations; create its tables directly."""
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await db.dispose()


def create_probe(database_url: str, nats_url: str, **overrides: Any) -> FastAPI:
    """A probe app (tables must exist: ``create_probe_tables``)."""
    settings = service_settings(
        ProbeSettings, database_url=database_url, nats_url=nats_url, run_migrations=False, **overrides
    )
    app = build_service_app(SPEC, settings)
    app.state.poison_fails = True
    return app


async def applied(app: FastAPI) -> list[tuple[str, str]]:
    """(event id, name) of every application, in order."""
    async with app.state.db.transaction() as session:
        rows = (
            await session.execute(select(applications.c.event_id, applications.c.name).order_by(applications.c.id))
        ).all()
    return [(r.event_id, r.name) for r in rows]


async def applied_count(app: FastAPI) -> int:
    """How many applications happened."""
    async with app.state.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(applications)) or 0)


async def transactions(app: FastAPI) -> int:
    """How many transactions the applications were made in."""
    async with app.state.db.transaction() as session:
        return int(await session.scalar(select(func.count(func.distinct(applications.c.tx)))) or 0)
