"""Rate limits and login throttling shared by every gateway replica: one GCRA bucket per key in the gateway's database.

A bucket is one number, its *theoretical arrival time* ``tat`` (epoch seconds): with ``interval = 60 / per_minute``
a request at ``now`` is admitted when ``max(tat, now) + interval - now <= burst × interval`` and then moves ``tat``
on by ``interval`` — a token bucket of ``burst`` tokens refilled at ``per_minute``, stored as a single column. The
test-and-move is one atomic ``INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING`` (PostgreSQL in production,
SQLite for one process): concurrent replicas can never both take the last token.

The API limit takes a *lease* of a few tokens at once and spends them in memory (one database write per lease, not
per request). Leases never admit a request the shared bucket did not grant, so over any interval a caller gets at
most the bucket's ``burst + rate × interval`` plus the leases granted before the interval, i.e. at most
``replicas × lease`` more; and at most ``replicas × lease`` tokens sit unused in other replicas' leases (refused a
little early, for at most ``lease_seconds``). The lease is at most a tenth of the burst. Login throttling leases
nothing: every attempt is decided by the shared bucket.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Table, case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.edge import TooManyRequests
from shared.db import Database

EPSILON = 1e-6  # float slack, so that exactly ``burst`` requests at one instant are admitted
MAX_KEY = 200


@dataclass(frozen=True)
class Limit:
    """``per_minute`` sustained, ``burst`` at once."""

    per_minute: int
    burst: int

    @property
    def interval(self) -> float:
        """Seconds one token takes to come back."""
        return 60.0 / self.per_minute

    def retry_after(self, tat: float, now: float) -> int:
        """Whole seconds (at least 1) until one token is available again."""
        return max(1, math.ceil(tat - (self.burst - 1) * self.interval - now - EPSILON))


def bucket_key(name: str, key: str) -> str:
    """The stored key of one caller's bucket of one limit (long keys hashed to fit the column)."""
    full = f"{name}:{key}"
    return full if len(full) <= MAX_KEY else f"{name}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def _refusal(limit: Limit, tat: float, now: float) -> TooManyRequests:
    retry_after = limit.retry_after(tat, now)
    return TooManyRequests(
        "Rate limit exceeded; retry later", headers={"Retry-After": str(retry_after)}, retry_after=retry_after
    )


class LimitStore:
    """The buckets table of the gateway's database; ``now`` is wall-clock epoch seconds (shared by replicas)."""

    def __init__(self, db: Database, table: Table, *, now: Callable[[], float]) -> None:
        self.db = db
        self.table = table
        self.now = now

    def _insert(self) -> Callable[[Table], postgresql.Insert | sqlite.Insert]:
        return postgresql.insert if self.db.engine.dialect.name == "postgresql" else sqlite.insert

    async def take(self, key: str, limit: Limit, cost: int = 1, *, session: AsyncSession | None = None) -> float | None:
        """Take ``cost`` tokens (``cost <= burst``): None when taken, else the bucket's ``tat`` (for Retry-After)."""
        if session is None:
            async with self.db.transaction() as own:
                return await self.take(key, limit, cost, session=own)
        now = self.now()
        t = self.table
        moved = case((t.c.tat > now, t.c.tat), else_=literal(now)) + cost * limit.interval
        insert = self._insert()(t).values(key=key, tat=now + cost * limit.interval)
        upsert = insert.on_conflict_do_update(
            index_elements=[t.c.key],
            set_={"tat": moved},
            where=moved - now <= limit.burst * limit.interval + EPSILON,
        ).returning(t.c.tat)
        if (await session.execute(upsert)).first() is not None:
            return None
        tat = await session.scalar(select(t.c.tat).where(t.c.key == key))
        return float(tat) if tat is not None else now

    async def give_back(self, key: str, limit: Limit, *, session: AsyncSession) -> None:
        """Return one token taken for a request that turned out not to count (a successful login)."""
        t = self.table
        await session.execute(t.update().where(t.c.key == key).values(tat=t.c.tat - limit.interval))

    async def prune(self) -> int:
        """Delete the buckets that are full again (a missing row is a full bucket); how many."""
        async with self.db.transaction() as session:
            result = await session.execute(delete(self.table).where(self.table.c.tat < self.now()))
        return int(getattr(result, "rowcount", 0) or 0)


class SharedRateLimit:
    """One limit (e.g. the API's per caller) over the shared store, spent from in-memory leases."""

    def __init__(self, store: LimitStore, name: str, limit: Limit, *, lease: int = 1, lease_seconds: float = 1.0):
        self.store = store
        self.name = name
        self.limit = limit
        self.lease = max(1, min(lease, limit.burst // 10))
        self.lease_seconds = lease_seconds
        self.leases: dict[str, tuple[int, float]] = {}  # bucket key → (tokens left, lease expiry)
        self.refills: dict[str, asyncio.Future[None]] = {}  # bucket key → the lease being taken now

    async def check(self, key: str) -> None:
        """Admit one request of ``key`` or raise 429 with Retry-After.

        One refill of a caller's lease at a time: concurrent requests that find it spent wait for the one taking
        a new lease and then spend from it, instead of each writing to the store at once (on SQLite they queued
        for its one write lock: 32 connections of one caller answered p99 3 s)."""
        stored = bucket_key(self.name, key)
        while True:
            now = self.store.now()
            left, expires = self.leases.get(stored, (0, 0.0))
            if left > 0 and now < expires:
                self.leases[stored] = (left - 1, expires)
                return
            if self.lease <= 1:
                break
            refilling = self.refills.get(stored)
            if refilling is None:
                break
            await asyncio.shield(refilling)  # then spend from the lease it took (or refill in turn)
        if self.lease <= 1:
            await self._take_one(stored, now)
            return
        done = self.refills[stored] = asyncio.get_running_loop().create_future()
        try:
            if await self.store.take(stored, self.limit, self.lease) is None:
                if len(self.leases) > 100_000:  # bound memory: forget idle callers' leases
                    self.leases.clear()
                self.leases[stored] = (self.lease - 1, now + self.lease_seconds)
                return
            await self._take_one(stored, now)  # no whole lease left: one token, or 429
        finally:
            del self.refills[stored]
            done.set_result(None)

    async def _take_one(self, stored: str, now: float) -> None:
        tat = await self.store.take(stored, self.limit)
        if tat is not None:
            raise _refusal(self.limit, tat, now)


class LoginThrottle:
    """Login attempts per client (every attempt counts) and per account (only failures count: an attempt takes a
    token before the password is checked, and a success gives it back); both in the shared store, no leases."""

    def __init__(self, store: LimitStore, *, per_client: Limit, per_account: Limit) -> None:
        self.store = store
        self.per_client = per_client
        self.per_account = per_account

    async def check_client(self, kind: str, client: str) -> None:
        """One attempt of ``kind`` (login, refresh) from a client address, or 429."""
        tat = await self.store.take(bucket_key(f"{kind}-client", client), self.per_client)
        if tat is not None:
            raise _refusal(self.per_client, tat, self.store.now())

    async def check_account(self, account: str) -> None:
        """One attempt to log in as ``account`` (taken before the password is checked), or 429."""
        tat = await self.store.take(bucket_key("login-account", account), self.per_account)
        if tat is not None:
            raise _refusal(self.per_account, tat, self.store.now())

    async def succeeded(self, account: str, *, session: AsyncSession) -> None:
        """The attempt as ``account`` succeeded: it does not count against the account (in the login's transaction,
        which holds SQLite's write lock by now)."""
        await self.store.give_back(bucket_key("login-account", account), self.per_account, session=session)
