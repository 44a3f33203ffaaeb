"""Fixtures: a real NATS server per test, a fresh database per test (SQLite, and PostgreSQL when configured).

The suite runs in parallel (``make test``: pytest-xdist, two workers, whole files per worker so module- and
package-scoped platforms stay in one process); plain ``pytest`` runs it serially. What two workers could share is
kept apart: temporary directories are per worker (pytest's own), PostgreSQL databases get random names, every NATS
server and uvicorn process gets a port from ``free_port``, which gives each worker its own stripe of ports
(``tests.support.stripe_free_ports``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from shared.nats_server import NatsServer
from tests.support import BACKENDS, POSTGRES_URL, create_postgres_database, drop_postgres_database, stripe_free_ports

stripe_free_ports()  # before any test module imports free_port by name


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A JetStream nats-server of this test's own on a free port (never the machine's 4222)."""
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    """URL of this test's NATS server."""
    return nats_server.url


DatabaseFactory = Callable[[str], Awaitable[str]]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """'sqlite' always; 'postgresql' too when KAM_TEST_POSTGRES_URL is set."""
    return str(request.param)


@pytest.fixture
async def make_database(backend: str, tmp_path: Path) -> AsyncIterator[DatabaseFactory]:
    """Factory of fresh, empty databases on the test's backend (one per name)."""
    created: list[str] = []

    async def _make(name: str) -> str:
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / (name + '.db')}"
        assert POSTGRES_URL is not None
        url = await create_postgres_database(POSTGRES_URL)
        created.append(url)
        return url

    yield _make
    for url in created:
        await drop_postgres_database(url)


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> DatabaseFactory:
    """Factory of fresh SQLite databases (for tests that need not run on both backends)."""

    async def _make(name: str) -> str:
        return f"sqlite+aiosqlite:///{tmp_path / (name + '.db')}"

    return _make
