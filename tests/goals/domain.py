"""The domain tier of the goals tests: a migrated database, the service's publisher and actors, no HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.app import SPEC, goals_publisher
from services.goals.config import GoalsSettings
from services.goals.models import platform
from shared.auth import Principal
from shared.bus import Publisher
from shared.clock import FrozenClock
from shared.db import Database
from shared.events import UserData
from shared.migrations import upgrade_to_head
from shared.projection import upsert_account, upsert_user
from tests.goals.helpers import TEAM
from tests.support import service_settings

SUPERVISOR = Principal(user_id="sup-wang", roles=frozenset({"supervisor"}))
LI = Principal(user_id="am-li", roles=frozenset({"account_manager"}))
ZHANG = Principal(user_id="am-zhang", roles=frozenset({"account_manager"}))
VIEWER = Principal(user_id="viewer-zhao", roles=frozenset({"viewer"}))


@dataclass
class Goals:
    """What the domain functions need: a database, settings, the clock and the service's publisher."""

    db: Database
    settings: GoalsSettings
    clock: FrozenClock
    publisher: Publisher

    @property
    def now(self) -> datetime:
        """The frozen clock's time."""
        return self.clock.now()

    def session(self) -> Any:
        """One transaction (committed on success), as a request or a consumed event has."""
        return self.db.transaction()

    async def add_account(self, account_id: str, *, owner_id: str = "am-li", tier: str = "key") -> str:
        """Put an account into the projection, as scoring's event would."""
        async with self.session() as session:
            await upsert_account(
                session, platform, account_id=account_id, name=f"客户{account_id}", tier=tier, owner_id=owner_id
            )
        return account_id

    async def add_user(self, user_id: str, roles: list[str], *, active: bool = True) -> str:
        """Put a user into the users projection, as the gateway's identity event would."""
        user = UserData(user_id=user_id, display_name=user_id, roles=roles, active=active)
        async with self.session() as session:
            await upsert_user(session, platform, user=user, event_time=self.now)
        return user_id

    async def events(self, session: AsyncSession | None = None) -> list[str]:
        """Subjects written to the outbox so far, in order."""
        outbox = platform.outbox
        query = select(outbox.c.subject).order_by(outbox.c.seq)
        if session is not None:
            return list((await session.execute(query)).scalars())
        async with self.session() as own:
            return list((await own.execute(query)).scalars())


@asynccontextmanager
async def goals_domain(database_url: str, *, now: datetime | None = None, **overrides: Any) -> AsyncIterator[Goals]:
    """A migrated goals database on a frozen clock (default 2026-07-01, half of fiscal 2026 gone) that knows the
    test team (``tests.goals.helpers.TEAM``) as users."""
    clock = FrozenClock(now or datetime(2026, 7, 1, tzinfo=UTC))
    settings = service_settings(GoalsSettings, database_url=database_url, nats_url=None, **overrides)
    db = Database(database_url)
    try:
        await upgrade_to_head(db, SPEC.migrations_dir)
        goals = Goals(db=db, settings=settings, clock=clock, publisher=goals_publisher(clock))
        for user_id, roles in TEAM:
            await goals.add_user(user_id, roles)
        yield goals
    finally:
        await db.dispose()
