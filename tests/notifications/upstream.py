"""A stand-in for a publishing service (complaints): its own outbox and relay on NATS, nothing else.

It publishes the way every service does — ``Publisher`` into the outbox in a transaction, the relay to JetStream
with ``Nats-Msg-Id`` — without importing another service's code.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import func, select

from shared.db import Database, add_platform_tables, make_metadata
from shared.events import EventBase
from shared.service import ServiceSpec, build_service_app
from shared.settings import ServiceSettings
from tests.support import service_settings

metadata = make_metadata()
platform = add_platform_tables(metadata)
SPEC = ServiceSpec(
    name="complaints-upstream",
    title="upstream",
    tables=platform,
    migrations_dir=Path(__file__).parent / "no-migrations",
    publishes=["complaints"],
)


class UpstreamSettings(ServiceSettings):
    service_name: str = "complaints-upstream"


async def create_upstream(database_url: str, nats_url: str) -> FastAPI:
    """The publisher app (its tables created directly: it has no migrations)."""
    db = Database(database_url)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await db.dispose()
    settings = service_settings(UpstreamSettings, database_url=database_url, nats_url=nats_url, run_migrations=False)
    return build_service_app(SPEC, settings)


async def publish_through_outbox(app: FastAPI, *events: EventBase) -> list[EventBase]:
    """Write events to the publisher's outbox in one business transaction (the relay sends them); returns the
    events as published (the publisher makes their ids)."""
    published = []
    async with app.state.db.transaction() as session:
        for event in events:
            assert isinstance(event.data, BaseModel)
            published.append(
                await app.state.publisher.publish(
                    session, type(event), event.data, account_id=event.account_id, time=event.time
                )
            )
    return published


async def outbox_pending(app: FastAPI) -> int:
    """Rows the relay has not published yet."""
    async with app.state.db.transaction(write=False) as session:
        outbox = platform.outbox
        return int(
            await session.scalar(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))) or 0
        )
