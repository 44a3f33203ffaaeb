"""Helpers every test tier uses: real NATS, real databases, apps with their lifespan, tokens, waiting."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET

TEST_JWT_SECRET = "test-secret-" + "x" * 40
T = TypeVar("T")

POSTGRES_URL = os.environ.get("KAM_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def token(*roles: str, user_id: str = "u-admin", secret: str = TEST_JWT_SECRET, **kw: Any) -> str:
    """A signed access token for tests."""
    return mint_token(secret=secret, user_id=user_id, roles=roles or ("admin",), **kw)


def auth(*roles: str, user_id: str = "u-admin", **kw: Any) -> dict[str, str]:
    """Authorization header for a token with ``roles``."""
    return {"Authorization": f"Bearer {token(*roles, user_id=user_id, **kw)}"}


def service_settings(settings_cls: type[T], *, database_url: str, nats_url: str | None, **overrides: Any) -> T:
    """Settings for a service under test: given database, given NATS (or none), test secret, fast loops."""
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "nats_url": nats_url or "nats://127.0.0.1:1",
        "nats_enabled": nats_url is not None,
        "jwt_secret": TEST_JWT_SECRET,
        "relay_poll_seconds": 0.05,
        "consumer_retry_delay_seconds": 0.05,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return settings_cls(**values)


@asynccontextmanager
async def running(app: FastAPI, *, headers: dict[str, str] | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan and give an HTTP client bound to it (ASGI, no sockets)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers or {}
        ) as client:
            yield client


async def wait_until(
    predicate: Callable[[], Awaitable[T]], *, timeout: float = 15.0, interval: float = 0.02, message: str = "condition"
) -> T:
    """Await a condition that another process or task makes true (returns its truthy value)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await predicate()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}; last value {last!r}")


async def create_postgres_database(base_url: str) -> str:
    """Create a fresh database on the server of ``base_url``; return its URL."""
    import asyncpg

    url = make_url(base_url)
    name = f"kam_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(
        user=url.username or "postgres",
        password=url.password,
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        database=url.database or "postgres",
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


async def drop_postgres_database(db_url: str) -> None:
    """Drop a database made by ``create_postgres_database``."""
    import asyncpg

    url = make_url(db_url)
    conn = await asyncpg.connect(
        user=url.username or "postgres",
        password=url.password,
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        database="postgres",
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await conn.close()


async def register_users(
    app: FastAPI, users: Iterable[tuple[str, Sequence[str]] | tuple[str, Sequence[str], bool]]
) -> None:
    """Tell a running app about users the way the gateway does: ``identity.user_registered`` events applied by
    the app's own consumer (``(user_id, roles)`` or ``(user_id, roles, active)``)."""
    from shared.events import UserData, UserRegistered

    consumer = app.state.consumer
    assert consumer is not None, "the app consumes no events"
    for entry in users:
        user_id, roles, *rest = entry
        active = bool(rest[0]) if rest else True
        data = UserData(user_id=user_id, display_name=user_id, roles=list(roles), active=active)
        await consumer.process(UserRegistered(source="gateway", data=data))


def first(items: Iterable[T]) -> T:
    """The first item (for readable assertions)."""
    return next(iter(items))


__all__ = [
    "BACKENDS",
    "DEV_JWT_SECRET",
    "POSTGRES_URL",
    "TEST_JWT_SECRET",
    "auth",
    "create_postgres_database",
    "drop_postgres_database",
    "first",
    "register_users",
    "running",
    "service_settings",
    "token",
    "wait_until",
]
