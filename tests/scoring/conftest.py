"""Fixtures of the scoring domain tier: a real SQLite database with the service's schema, no HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.scoring.support import Domain, domain_database


@pytest.fixture
async def domain(sqlite_database: Callable[[str], Awaitable[str]]) -> AsyncIterator[Domain]:
    """A migrated scoring database (default model published), its publisher and a frozen clock."""
    async with domain_database(await sqlite_database("scoring")) as prepared:
        yield prepared
