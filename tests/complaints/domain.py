"""The domain tier's world: a migrated SQLite database, a frozen clock, the rules, a publisher, accounts and actors.

Domain tests call the service functions directly on a real session (no app, no HTTP) inside
``world.transaction()``, as a route or handler would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.app import SPEC
from services.complaints.calendars.service import load_rules_calendar, seed_calendars
from services.complaints.config import ComplaintsSettings
from services.complaints.intake import service as intake
from services.complaints.intake.models import Complaint
from services.complaints.intake.schemas import ComplaintCreate
from services.complaints.models import platform
from services.complaints.reference.service import seed_reference_data
from services.complaints.rules import Rules, rules_from_settings
from shared.auth import Principal
from shared.bus import Publisher
from shared.clock import FrozenClock
from shared.db import Database
from shared.events import UserData
from shared.migrations import upgrade_to_head
from shared.projection import set_account_access, upsert_account, upsert_user
from tests.complaints.helpers import MONDAY_9AM_BEIJING, STAFF
from tests.support import service_settings

SUPERVISOR = Principal(user_id="sup-wang", roles=frozenset({"supervisor"}))
LI = Principal(user_id="am-li", roles=frozenset({"account_manager"}))
ZHANG = Principal(user_id="am-zhang", roles=frozenset({"account_manager"}))
# The users the domain tests name (the projection the people checks read) and the team on every test account.
DOMAIN_STAFF: tuple[tuple[str, list[str]], ...] = (
    *STAFF,
    ("am-wu", ["account_manager"]),
    ("qa-chen", ["account_manager"]),
)
DOMAIN_TEAM: tuple[str, ...] = ("qa-chen", "am-wu")


@dataclass
class World:
    """What a domain function needs besides its arguments."""

    db: Database
    clock: FrozenClock
    rules: Rules
    publisher: Publisher

    @property
    def now(self) -> datetime:
        """The frozen clock's time."""
        return self.clock.now()

    def advance(self, **delta: float) -> None:
        """Move the clock on (``hours=25``)."""
        self.clock.advance(timedelta(**delta))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work, committed at the end (as the session dependency does)."""
        async with self.db.transaction() as session:
            yield session

    async def account(
        self,
        session: AsyncSession,
        *,
        owner_id: str = "am-li",
        tier: str | None = None,
        name: str = "宁德时代",
        team: tuple[str, ...] = DOMAIN_TEAM,
    ) -> str:
        """An account in the projection, owned by ``owner_id`` (with ``team`` on it)."""
        account_id = str(uuid.uuid4())
        await upsert_account(
            session, platform, account_id=account_id, name=name, tier=tier, owner_id=owner_id, team_member_ids=team
        )
        return account_id

    async def change_owner(self, session: AsyncSession, account_id: str, owner_id: str) -> None:
        """Give the account a new owner in the projection (what the projection does on ``accounts.owner_changed``)."""
        await set_account_access(
            session, platform, account_id=account_id, owner_id=owner_id, team_member_ids=DOMAIN_TEAM
        )

    async def user(self, session: AsyncSession, user_id: str, roles: list[str], *, active: bool = True) -> None:
        """A user in the users projection (as an ``identity.*`` event would put it)."""
        data = UserData(user_id=user_id, display_name=user_id, roles=roles, active=active)
        await upsert_user(session, platform, user=data, event_time=self.now)

    async def open(
        self, session: AsyncSession, account_id: str, *, actor: Principal = SUPERVISOR, **fields: Any
    ) -> Complaint:
        """Open a complaint through the domain (``fields`` override the body)."""
        body = ComplaintCreate.model_validate(
            {
                "account_id": account_id,
                "title": "控制器批次故障",
                "description": "第三季度交付的一批控制器出现故障。",
                "category": "product_quality",
                "severity": "high",
                **fields,
            }
        )
        return await intake.open_complaint(
            session, body=body, actor=actor, now=self.now, rules=self.rules, publisher=self.publisher
        )

    async def events(self, session: AsyncSession) -> list[dict[str, Any]]:
        """The events written to the outbox so far, in order."""
        payloads = (await session.execute(select(platform.outbox.c.payload).order_by(platform.outbox.c.seq))).scalars()
        return [json.loads(p) for p in payloads]


async def make_world(database_url: str) -> World:
    """A migrated database with the reference data, on Monday 2 March 2026 09:00 Beijing."""
    db = Database(database_url)
    await upgrade_to_head(db, SPEC.migrations_dir)
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    settings = service_settings(ComplaintsSettings, database_url=database_url, nats_url=None)
    world = World(
        db=db,
        clock=clock,
        rules=rules_from_settings(settings),
        publisher=Publisher(service="complaints", outbox=platform.outbox, clock=clock),
    )
    async with world.transaction() as session:
        await seed_reference_data(session, now=world.now)
        await seed_calendars(
            session, files=world.rules.seed_files, defaults=world.rules.calendar_defaults, now=world.now
        )
        await load_rules_calendar(session, rules=world.rules)
        for user_id, roles in DOMAIN_STAFF:
            await world.user(session, user_id, roles)
    return world
