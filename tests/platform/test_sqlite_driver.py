"""The SQLite driver adaptation (``shared.sqlite_driver``): one hand-off to the connection's thread per statement,
and everything a statement returns still there — rows, description, rowcount, lastrowid, many-row inserts, errors
as SQLAlchemy's, and streaming (server-side) results, which keep SQLAlchemy's own cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from shared.db import Database

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(50), unique=True),
)


@pytest.fixture
async def database(sqlite_database) -> AsyncIterator[Database]:
    db = Database(await sqlite_database("driver"))
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield db
    await db.engine.dispose()


@pytest.fixture
def hand_offs(monkeypatch) -> list[str]:
    """Every call aiosqlite runs on a connection's thread (its one hand-off primitive), by function name."""
    calls: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return calls


async def test_each_statement_is_one_hand_off_to_the_connection_thread(database, hand_offs):
    async with database.transaction() as session:
        await session.execute(insert(things).values(name="预热"))
        hand_offs.clear()
        for i in range(10):
            await session.execute(insert(things).values(name=f"客户{i}"))
        for _ in range(10):
            assert (await session.execute(select(func.count()).select_from(things))).scalar_one() >= 11
        assert len(hand_offs) == 20  # SQLAlchemy's own adaptation: 4 per statement (cursor, execute, fetch, close)


async def test_rows_rowcount_lastrowid_and_many_rows_come_back(database):
    async with database.transaction() as session:
        result = await session.execute(insert(things).values(name="华东精密"))
        assert result.inserted_primary_key == (1,)  # lastrowid
        await session.execute(insert(things), [{"name": f"行{i}"} for i in range(50)])  # executemany
        updated = await session.execute(text("UPDATE things SET name = name || '·' WHERE id > 40"))
        assert updated.rowcount == 11
        rows = (await session.execute(select(things.c.id, things.c.name).order_by(things.c.id))).all()
        assert len(rows) == 51 and rows[0] == (1, "华东精密") and rows[-1] == (51, "行49·")
        assert list((await session.execute(select(things.c.name).where(things.c.id < 3))).keys()) == ["name"]
        empty = await session.execute(select(things).where(things.c.id < 0))
        assert empty.all() == []


async def test_errors_are_sqlalchemys_and_the_transaction_rolls_back(database):
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            await session.execute(insert(things).values(name="重复"))
            await session.execute(insert(things).values(name="重复"))
    with pytest.raises(OperationalError):
        async with database.transaction() as session:
            await session.execute(text("SELECT * FROM no_such_table"))
    async with database.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(things)) == 0


async def test_streamed_results_still_stream(database):
    async with database.transaction() as session:
        await session.execute(insert(things), [{"name": f"流{i}"} for i in range(300)])
    async with database.transaction(write=False) as session:
        result = await session.stream(select(things.c.id).order_by(things.c.id).execution_options(yield_per=64))
        seen = [row.id async for row in result]
    assert seen == list(range(1, 301))
