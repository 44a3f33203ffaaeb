"""Database plumbing: concurrent writers on SQLite wait for each other instead of failing."""

from __future__ import annotations

import asyncio

from sqlalchemy import Column, Integer, String, Table, func, insert, select

from shared.db import Database, make_metadata

metadata = make_metadata()
counters = Table("counters", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))


async def test_concurrent_read_then_write_transactions_all_commit(make_database):
    db = Database(await make_database("concurrency"))
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

        async def read_then_write(i: int) -> None:
            async with db.transaction() as session:
                seen = await session.scalar(select(func.count()).select_from(counters))
                await asyncio.sleep(0)  # let the others interleave between the read and the write
                await session.execute(insert(counters).values(name=f"w{i}-{seen}"))

        async def reader() -> int:
            async with db.transaction(write=False) as session:
                return int(await session.scalar(select(func.count()).select_from(counters)) or 0)

        results = await asyncio.gather(*(read_then_write(i) for i in range(40)), *(reader() for _ in range(10)))
        assert all(isinstance(r, int) for r in results[40:])
        async with db.transaction(write=False) as session:
            assert await session.scalar(select(func.count()).select_from(counters)) == 40
    finally:
        await db.dispose()
