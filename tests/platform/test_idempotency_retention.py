"""Idempotency-Keys do not live for ever: the hourly upkeep deletes those claimed longer ago than the retention,
finished or not, and leaves the younger ones (which still replay)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import MetaData, insert, select

from shared.api import idempotency_table
from shared.db import Database
from shared.idempotency import IN_PROGRESS, prune_keys
from shared.settings import ServiceSettings
from tests.conftest import DatabaseFactory


async def test_keys_older_than_the_retention_are_deleted_and_younger_ones_kept(make_database: DatabaseFactory) -> None:
    metadata = MetaData()
    table = idempotency_table(metadata)
    db = Database(await make_database("keys"))
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        now = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
        ages = {"done-25h": (25, 201), "running-30h": (30, IN_PROGRESS), "done-23h": (23, 201), "fresh": (0, 201)}
        async with db.transaction() as session:
            for key, (hours, status) in ages.items():
                row = {"key": key, "principal": "u1", "request_hash": "h", "status": status, "body": ""}
                await session.execute(insert(table).values(**row, created_at=now - timedelta(hours=hours)))
        deleted = await prune_keys(db, table, now=now, retention=timedelta(hours=24))
        async with db.transaction(write=False) as session:
            left = set((await session.scalars(select(table.c.key))).all())
        assert left == {"done-23h", "fresh"}
        assert deleted == 2
    finally:
        await db.dispose()


def test_the_retention_defaults_to_a_day_and_cannot_undercut_the_claim_lease() -> None:
    assert ServiceSettings().idempotency_retention_hours == 24.0
    try:
        ServiceSettings(idempotency_retention_hours=0.1)
    except ValueError as exc:
        assert "idempotency_retention_hours" in str(exc)
    else:
        raise AssertionError("a retention shorter than the 15-minute claim lease was accepted")
