"""Helpers for the risk tests: an app on a fresh database, accounts in its projection, outbox reads."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from services.risk.app import create_app
from services.risk.config import RiskSettings
from services.risk.models import platform
from shared.clock import FrozenClock
from shared.events import AccountRegistered, EventBase
from tests.support import service_settings

START = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)


def make_app(
    database_url: str, *, nats_url: str | None = None, clock: FrozenClock | None = None, jobs_enabled: bool = False
) -> FastAPI:
    """A risk app on ``database_url`` with a frozen clock (at START unless given); tests run jobs themselves."""
    settings = service_settings(RiskSettings, database_url=database_url, nats_url=nats_url, jobs_enabled=jobs_enabled)
    return create_app(settings, clock=clock or FrozenClock(START))


def registered(
    name: str, *, industry: str = "制造业", owner_id: str = "am-li", tier: str = "key", account_id: str | None = None
) -> AccountRegistered:
    """An ``accounts.registered`` event as scoring would publish it."""
    return AccountRegistered(
        source="scoring",
        account_id=account_id or str(uuid.uuid4()),
        data={"name": name, "industry": industry, "owner_id": owner_id, "tier": tier, "team_member_ids": []},
    )


async def deliver(app: FastAPI, *events: EventBase) -> None:
    """Apply events through the app's consumer (inbox and handlers), as NATS delivery would."""
    for event in events:
        await app.state.consumer.process(event)


async def add_account(app: FastAPI, name: str, **kw: Any) -> str:
    """Register an account in the app's projection; returns its id."""
    event = registered(name, **kw)
    await deliver(app, event)
    assert event.account_id is not None
    return event.account_id


async def outbox_events(app: FastAPI, event_type: str | None = None) -> list[dict[str, Any]]:
    """Events the app wrote to its outbox (optionally of one type), oldest first."""
    async with app.state.db.transaction() as session:
        rows = (await session.execute(select(platform.outbox.c.payload).order_by(platform.outbox.c.seq))).scalars()
        events = [json.loads(p) for p in rows]
    return [e for e in events if event_type is None or e["type"] == event_type]
