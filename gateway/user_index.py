"""Each user's standing (active, roles) in memory, for the check every access token passes at the gateway.

An entry is trusted for ``ttl_seconds`` (1 s by default) after it was read from the users table; it is forgotten
at once when this process commits a change to that user, and when an ``identity.*`` event arrives on this
replica's change feed (changes made by another replica or by ``kam users``). So a deactivation or a removed role
holds on the next request through this replica, and within the TTL through any other.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from gateway.models import User
from shared.db import Database

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Standing:
    """What the users table says of a user: whether they may act, and with which roles."""

    active: bool
    roles: frozenset[str]


class UserIndex:
    """Standing by user id (``None``: no such user), read once per ``ttl_seconds`` and forgotten on change."""

    def __init__(self, db: Database, *, ttl_seconds: float = 1.0, now: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.ttl = ttl_seconds
        self.now = now
        self.entries: dict[str, tuple[float, Standing | None]] = {}
        self.generation = 0  # bumped by every forget: a read that started before one is not stored
        self._loading: dict[str, asyncio.Future[Standing | None]] = {}

    def forget(self, user_id: str | None = None) -> None:
        """Drop one user's entry (None: everyone's), e.g. after a change to them committed."""
        self.generation += 1
        if user_id is None:
            self.entries.clear()
        else:
            self.entries.pop(user_id, None)

    async def standing(self, user_id: str) -> Standing | None:
        """The user's standing (from memory while fresh; concurrent misses for one user share one read)."""
        cached = self.entries.get(user_id)
        if cached is not None and self.now() - cached[0] <= self.ttl:
            return cached[1]
        loading = self._loading.get(user_id)
        if loading is not None:
            try:
                return await asyncio.shield(loading)
            except asyncio.CancelledError:
                if not loading.cancelled():
                    raise  # this request was cancelled, not the read it waited for
                return await self.standing(user_id)
        future: asyncio.Future[Standing | None] = asyncio.get_running_loop().create_future()
        self._loading[user_id] = future
        try:
            generation, started = self.generation, self.now()
            standing = await self._read(user_id)
            if generation == self.generation:
                if len(self.entries) >= MAX_ENTRIES:
                    self.entries.clear()
                self.entries[user_id] = (started, standing)
            future.set_result(standing)
            return standing
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marked retrieved: waiters re-raise it, and no warning when there are none
            raise
        finally:
            del self._loading[user_id]
            if not future.done():
                future.cancel()  # the reader itself was cancelled: a waiter reads again

    async def _read(self, user_id: str) -> Standing | None:
        async with self.db.transaction(write=False) as session:
            row = (await session.execute(select(User.active, User.roles).where(User.user_id == user_id))).first()
        if row is None:
            return None
        return Standing(active=bool(row.active), roles=frozenset(row.roles or ()))
