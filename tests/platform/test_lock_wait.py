"""The SQLite write-lock wait is measured inside the service (the figure behind "no write waits more than 1 s")."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from shared.db import Database


async def test_a_write_that_waits_for_the_lock_reports_the_wait_and_one_that_does_not_reports_none(sqlite_database):
    db = Database(await sqlite_database("lockwait"))
    observed: list[float] = []
    db.lock_wait_observer = observed.append
    holding = asyncio.Event()
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
        uncontended = observed[-1]

        async def holder() -> None:
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (1)"))
                holding.set()
                await asyncio.sleep(1.2)  # holds the write lock this long (the thing measured), not a synchronisation

        async def waiter() -> None:
            await holding.wait()
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (2)"))

        await asyncio.gather(holder(), waiter())
        async with db.transaction(write=False) as session:
            rows = (await session.scalars(text("SELECT x FROM t ORDER BY x"))).all()
    finally:
        await db.dispose()
    assert rows == [1, 2]
    assert uncontended < 0.5
    assert 0.8 < max(observed) < 5.0, observed
    assert db.longest_lock_wait_seconds == max(observed)
