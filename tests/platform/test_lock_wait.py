"""The SQLite write-lock wait is measured inside the service (the figure behind "no write waits more than 1 s")."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

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


async def test_writers_of_one_process_queue_in_order_and_one_past_the_budget_fails_as_locked(
    sqlite_database, monkeypatch
):
    """In-process SQLite writers wait in the process's queue (in the order they came) instead of SQLite's busy
    handler; one that would wait past the lock budget fails as a locked database does (the 503 path)."""
    import shared.db

    db = Database(await sqlite_database("queue"))
    holding, release = asyncio.Event(), asyncio.Event()
    order: list[int] = []
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))

        async def holder() -> None:
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (0)"))
                holding.set()
                await release.wait()

        async def writer(x: int) -> None:
            async with db.transaction() as session:
                await session.execute(text(f"INSERT INTO t VALUES ({x})"))
                order.append(x)

        held = asyncio.create_task(holder())
        await holding.wait()
        waiting = []
        for x in (1, 2, 3, 4):
            waiting.append(asyncio.create_task(writer(x)))
            await asyncio.sleep(0)  # each joins the queue before the next one starts
        monkeypatch.setattr(shared.db, "SQLITE_LOCK_BUDGET_SECONDS", 0.2)
        try:
            await writer(99)
            raise AssertionError("a writer past the budget got the lock")
        except OperationalError as exc:
            assert "database is locked" in str(exc) and "this process's other writers" in str(exc)
        release.set()
        await asyncio.gather(held, *waiting)
        assert order == [1, 2, 3, 4]
    finally:
        await db.dispose()


def test_the_writers_queue_follows_the_event_loop_the_database_is_used_on(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'loops.db'}")

    async def contended(n: int) -> None:
        async def write(x: int) -> None:
            async with db.transaction() as session:
                await session.execute(text(f"INSERT INTO t VALUES ({x})"))
                await asyncio.sleep(0.01)

        if n == 0:
            async with db.transaction() as session:
                await session.execute(text("CREATE TABLE t (x INTEGER)"))
        await asyncio.gather(*(write(n * 10 + i) for i in range(5)))

    asyncio.run(contended(0))
    asyncio.run(contended(1))  # a second loop: a lock of the first would refuse to wait here

    async def count() -> int:
        try:
            async with db.transaction(write=False) as session:
                return int(await session.scalar(text("SELECT count(*) FROM t")) or 0)
        finally:
            await db.dispose()

    assert asyncio.run(count()) == 10
