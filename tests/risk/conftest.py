"""Fixtures of the risk tests: the domain tier's database (SQLite, no app, no HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.risk.support import Domain, domain_database


@pytest.fixture
async def domain(sqlite_database: Callable[[str], Awaitable[str]]) -> AsyncIterator[Domain]:
    """A fresh risk database with the default rules, a publisher and a frozen clock (at START)."""
    async with domain_database(await sqlite_database("risk-domain")) as world:
        yield world
