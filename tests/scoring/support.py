"""Helpers for scoring tests: an app or a bare domain database, valid credit codes, payloads, outbox reads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import services.scoring
from services.scoring.app import create_app
from services.scoring.config import ScoringSettings
from services.scoring.features import AsOf
from services.scoring.models import platform
from services.scoring.registry.credit_code import check_character
from services.scoring.scores.model_versions import ensure_default_model
from shared.auth import Principal
from shared.bus import Publisher
from shared.clock import FrozenClock, business_zone
from shared.db import Database
from shared.events import UserData
from shared.migrations import upgrade_to_head
from shared.projection import upsert_user
from tests.support import register_users, running, service_settings

NOW = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)
ZONE = business_zone("Asia/Shanghai")
MIGRATIONS = Path(services.scoring.__file__).parent / "migrations"
# The people the tests act as or assign (the gateway tells every service about them).
CAST: list[tuple[str, Sequence[str]]] = [
    ("sup-wang", ["supervisor"]),
    ("sup-zhou", ["supervisor"]),
    ("am-li", ["account_manager"]),
    ("am-zhang", ["account_manager"]),
    ("viewer-zhao", ["viewer"]),
    ("risk-chen", ["risk_officer"]),
    ("am-zhao", ["account_manager"]),
    ("u-admin", ["admin"]),
]


@asynccontextmanager
async def running_with_people(
    app: FastAPI, *, headers: dict[str, str] | None = None, people: Iterable[Any] = CAST
) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app and tell it about the people of the tests (identity events through its own consumer)."""
    async with running(app, headers=headers) as client:
        await register_users(app, people)
        yield client


async def known_people(session: AsyncSession, people: Iterable[Any] = CAST) -> None:
    """Put people into the users projection of a bare domain database (as the identity events would)."""
    for user_id, roles, *rest in people:
        data = UserData(
            user_id=user_id, display_name=user_id, roles=list(roles), active=bool(rest[0]) if rest else True
        )
        await upsert_user(session, platform, user=data, event_time=NOW)


def credit_code(serial: int) -> str:
    """A valid unified social credit code (correct check digit) for a serial number."""
    first17 = f"91310000{serial:09d}"
    return first17 + check_character(first17)


def scoring_app(
    database_url: str, *, nats_url: str | None = None, clock: FrozenClock | None = None, **overrides: Any
) -> FastAPI:
    """The scoring app on a database, with a frozen clock, the scheduled re-score and the periodic jobs off unless
    asked."""
    overrides.setdefault("scheduled_rescore", False)
    # The test runs the timers itself, at the moments it chooses: the app's own job, started with it, would run at a
    # moment of its own (e.g. between registering an account and logging its visit).
    overrides.setdefault("periodic_jobs", False)
    settings = service_settings(ScoringSettings, database_url=database_url, nats_url=nats_url, **overrides)
    return create_app(settings, clock=clock or FrozenClock(NOW))


def account_payload(name: str = "上海汽车集团股份有限公司", **fields: Any) -> dict[str, Any]:
    """A registration body."""
    body: dict[str, Any] = {"name": name, "industry": "汽车", "region": "华东", "owner_id": "am-li"}
    body.update(fields)
    return body


async def outbox_events(app: FastAPI, event_type: str | None = None) -> list[dict[str, Any]]:
    """Events written to the outbox (optionally of one type), in order."""
    table = platform.outbox
    async with app.state.db.transaction() as session:
        rows = (await session.execute(select(table.c.payload).order_by(table.c.seq))).scalars().all()
    events = [json.loads(r) for r in rows]
    return [e for e in events if event_type is None or e["type"] == event_type]


SIMPLE_MODEL: dict[str, Any] = {
    "indicators": [
        {
            "code": "annual_purchases",
            "weight": "60",
            "normalisation": {"method": "bounds", "min": "0", "max": "10000000"},
        },
        {"code": "industry_leadership", "weight": "40", "normalisation": {"method": "bounds", "min": "0", "max": "10"}},
    ],
    "tiers": {"thresholds": {"strategic": "80", "key": "60", "growth": "30"}},
}


def actor(role: str = "supervisor", user_id: str = "sup-wang") -> Principal:
    """The acting user of a domain call."""
    return Principal(user_id=user_id, roles=frozenset({role}))


@dataclass
class Domain:
    """A scoring database (migrated, default model published) with the service's publisher and a frozen clock."""

    db: Database
    clock: FrozenClock
    publisher: Publisher

    def now(self) -> datetime:
        """The frozen clock's time."""
        return self.clock.now()

    def at(self) -> AsOf:
        """The frozen clock's time as a scoring moment in the company zone."""
        return AsOf(self.clock.now(), ZONE)

    async def events(
        self, event_type: str | None = None, *, session: AsyncSession | None = None
    ) -> list[dict[str, Any]]:
        """Events written to the outbox (optionally of one type), in order; inside a transaction pass its session."""
        if session is None:
            async with self.db.transaction() as own:
                return await self.events(event_type, session=own)
        table = platform.outbox
        rows = (await session.execute(select(table.c.payload).order_by(table.c.seq))).scalars().all()
        events = [json.loads(r) for r in rows]
        return [e for e in events if event_type is None or e["type"] == event_type]


@asynccontextmanager
async def domain_database(database_url: str) -> AsyncIterator[Domain]:
    """A fresh scoring database through its migrations, as the app's start-up leaves it."""
    db = Database(database_url)
    clock = FrozenClock(NOW)
    try:
        await upgrade_to_head(db, MIGRATIONS)
        async with db.transaction() as session:
            await ensure_default_model(session, now=NOW)
            await known_people(session)
        yield Domain(db=db, clock=clock, publisher=Publisher(service="scoring", outbox=platform.outbox, clock=clock))
    finally:
        await db.dispose()
