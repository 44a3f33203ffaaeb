"""Fixtures of the complaints tests: the domain tier's world on a fresh SQLite database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.complaints.domain import World, make_world


@pytest.fixture
async def world(sqlite_database) -> AsyncIterator[World]:
    """A migrated, seeded complaints database with a frozen clock, the default rules and a publisher."""
    built = await make_world(await sqlite_database("complaints"))
    try:
        yield built
    finally:
        await built.db.dispose()
