"""Database plumbing: concurrent writers on SQLite wait for each other instead of failing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Column, Integer, String, Table, func, insert, select

from shared.db import Database, UTCDateTime, make_metadata

metadata = make_metadata()
counters = Table("counters", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))
moments = Table("moments", metadata, Column("id", Integer, primary_key=True), Column("at", UTCDateTime))


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


ZONES = [timezone(timedelta(hours=8)), timezone(timedelta(hours=-5)), UTC, timezone(timedelta(hours=5, minutes=30))]


async def test_an_instant_is_stored_as_the_same_instant_in_any_zone(make_database):
    """10:00+08:00 is 02:00 UTC on SQLite as on PostgreSQL: the offset is applied, not dropped."""
    db = Database(await make_database("instants"))
    wall = datetime(2026, 3, 1, 10, 0, 0)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        async with db.transaction() as session:
            for i, zone in enumerate(ZONES):
                await session.execute(insert(moments).values(id=i, at=wall.replace(tzinfo=zone)))
        async with db.transaction(write=False) as session:
            stored = {row.id: row.at for row in await session.execute(select(moments.c.id, moments.c.at))}
            # Comparisons bind through the same type: the +08:00 time is earlier than the UTC one.
            before_utc = await session.scalar(
                select(func.count()).select_from(moments).where(moments.c.at < wall.replace(tzinfo=UTC))
            )
        for i, zone in enumerate(ZONES):
            assert stored[i] == wall.replace(tzinfo=zone), zone
            assert stored[i].utcoffset() == timedelta(0)
        assert before_utc == 2  # +08:00 and +05:30 come before 10:00Z; -05:00 after
    finally:
        await db.dispose()
