"""Helpers for the risk tests: an app on a fresh database, accounts in its projection, outbox reads, and for the
domain tier a bare database with a session, a publisher on a frozen clock and actors."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.app import create_app
from services.risk.config import RiskSettings
from services.risk.models import Base, platform
from services.risk.warnings.service import seed_defaults
from shared.auth import Principal
from shared.bus import Publisher
from shared.clock import FrozenClock
from shared.db import Database
from shared.events import AccountRegistered, EventBase, UserData
from shared.projection import upsert_account, upsert_user
from tests.support import service_settings

START = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 15)  # START's business date in Asia/Shanghai (17:00 there)
# The people the risk tests assign work to, as the gateway registers them (user id, roles).
PEOPLE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("am-li", ("account_manager",)),
    ("am-zhang", ("account_manager",)),
    ("risk-chen", ("risk_officer",)),
    ("risk-liu", ("risk_officer",)),
    ("sup-wang", ("supervisor",)),
    ("viewer-zhao", ("viewer",)),
)


def make_app(
    database_url: str,
    *,
    nats_url: str | None = None,
    clock: FrozenClock | None = None,
    periodic_jobs: bool = False,
    **overrides: Any,
) -> FastAPI:
    """A risk app on ``database_url`` with a frozen clock (at START unless given); tests run jobs themselves."""
    settings = service_settings(
        RiskSettings, database_url=database_url, nats_url=nats_url, periodic_jobs=periodic_jobs, **overrides
    )
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


# ---------------------------------------------------------------- the domain tier (no HTTP)


@dataclass(frozen=True)
class Domain:
    """A risk database with the default rules, and the publisher and clock its domain functions are given."""

    db: Database
    clock: FrozenClock
    publisher: Publisher


@asynccontextmanager
async def domain_database(database_url: str) -> AsyncIterator[Domain]:
    """A fresh risk schema on ``database_url`` (the models' tables; migrations match them) with default rules."""
    db = Database(database_url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    clock = FrozenClock(START)
    async with db.transaction() as session:
        await seed_defaults(session, now=START)
        await put_people(session)
    try:
        yield Domain(db=db, clock=clock, publisher=Publisher(service="risk", outbox=platform.outbox, clock=clock))
    finally:
        await db.dispose()


async def put_user(session: AsyncSession, user_id: str, roles: Sequence[str], *, active: bool = True) -> None:
    """A user in the users projection, as ``identity.user_registered`` leaves it."""
    data = UserData(user_id=user_id, display_name=user_id, roles=list(roles), active=active)
    await upsert_user(session, platform, user=data, event_time=START)


async def put_people(session: AsyncSession) -> None:
    """Every user of ``PEOPLE`` in the users projection."""
    for user_id, roles in PEOPLE:
        await put_user(session, user_id, roles)


def actor(user_id: str, *roles: str) -> Principal:
    """A caller with ``roles`` (risk officer unless given)."""
    return Principal(user_id=user_id, roles=frozenset(roles or ("risk_officer",)))


async def put_account(
    session: AsyncSession, name: str, *, owner_id: str = "am-li", industry: str = "制造业", tier: str = "key"
) -> str:
    """An account in the projection (as the accounts events would leave it); returns its id."""
    account_id = str(uuid.uuid4())
    await upsert_account(
        session, platform, account_id=account_id, name=name, industry=industry, tier=tier, owner_id=owner_id
    )
    return account_id


async def published(session: AsyncSession, event_type: str | None = None) -> list[dict[str, Any]]:
    """Events written to the outbox in this session (optionally of one type), oldest first."""
    rows = (await session.execute(select(platform.outbox.c.payload).order_by(platform.outbox.c.seq))).scalars()
    events = [json.loads(p) for p in rows]
    return [e for e in events if event_type is None or e["type"] == event_type]
