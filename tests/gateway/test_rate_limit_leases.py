"""The API limit spends per-process leases taken from the shared store: a herd of concurrent requests of one
caller takes one lease at a time (no write per request, no queue on SQLite's write lock) and is admitted exactly
up to the limit."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from sqlalchemy import Table

from gateway.edge import TooManyRequests
from gateway.limits import Limit, LimitStore, SharedRateLimit
from gateway.models import RateLimitBucket
from shared.db import Database

NOW = 1_790_000_000.0


class CountingStore(LimitStore):
    """The real store on a real database, counting the takes that reach it."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, cast(Table, RateLimitBucket.__table__), now=lambda: NOW)
        self.takes = 0

    async def take(self, *args: Any, **kwargs: Any) -> float | None:
        if kwargs.get("session") is None:  # the store calls itself again with its own transaction
            self.takes += 1
        return await super().take(*args, **kwargs)


async def _store(url: str) -> tuple[Database, CountingStore]:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(RateLimitBucket.__table__.create)
    return db, CountingStore(db)


async def _admitted(limit: SharedRateLimit, n: int) -> int:
    results = await asyncio.gather(*(limit.check("user:am-li") for _ in range(n)), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, TooManyRequests):
            raise result
    return sum(result is None for result in results)


async def test_fifty_concurrent_requests_take_five_leases_of_ten(sqlite_database):
    db, store = await _store(await sqlite_database("limits"))
    try:
        limit = SharedRateLimit(store, "api", Limit(per_minute=6000, burst=1000), lease=10, lease_seconds=60)
        assert await _admitted(limit, 50) == 50
        assert store.takes == 5  # one refill at a time; before, every request of the herd wrote at once
    finally:
        await db.dispose()


@pytest.mark.parametrize(("burst", "lease", "requests"), [(20, 2, 35), (40, 4, 41), (7, 1, 12)])
async def test_a_herd_is_admitted_exactly_up_to_the_burst(sqlite_database, burst, lease, requests):
    """Neither more than the burst nor fewer: leases taken at once by a herd overwrote each other, and the tokens
    of the overwritten ones were lost (35 requests on a burst of 20 admitted 10, the rest answered 429)."""
    db, store = await _store(await sqlite_database("limits"))
    try:
        limit = SharedRateLimit(store, "api", Limit(per_minute=60, burst=burst), lease=lease, lease_seconds=60)
        assert await _admitted(limit, requests) == burst  # the clock stands still: no token comes back
    finally:
        await db.dispose()
