"""Helpers every test tier uses: real NATS, real databases, apps with their lifespan, tokens, waiting."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
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
    """A signed access token for tests. Modules mint theirs when imported, at collection, so they live 12 hours,
    not the 15 minutes of a real one: a module that runs 20 minutes into the suite still holds valid tokens."""
    kw.setdefault("ttl", timedelta(hours=12))
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


def if_match(source: httpx.Response | dict[str, Any] | int) -> dict[str, str]:
    """``If-Match`` from what the API last answered: a response's ETag, a body's ``version``, or a version."""
    if isinstance(source, httpx.Response):
        return {"If-Match": source.headers["ETag"]}
    version = source["version"] if isinstance(source, dict) else source
    return {"If-Match": f'"{version}"'}


class ReadsETagFirst(httpx.Auth):
    """A careful client for tests about something else than concurrency: a change refused with 428 (If-Match
    missing) is sent again with the ETag of a fresh GET of the resource (its own path, else its parent's: an action
    ``POST …/{id}/close`` or a sub-document ``PUT …/{id}/team``), or ``*`` when neither GET shows one (a resource read
    only in lists). A request that brings its own If-Match is sent as it is."""

    requires_request_body = True
    requires_response_body = True

    async def async_auth_flow(self, request: httpx.Request) -> AsyncIterator[httpx.Request]:
        response = yield request
        if response.status_code != 428 or "if-match" in request.headers:
            return
        path = request.url.path.rstrip("/")
        candidates = [path, path.rsplit("/", 1)[0]] if request.method != "POST" else [path.rsplit("/", 1)[0]]
        etag = "*"
        for candidate in candidates:
            kept = {k: v for k, v in request.headers.items() if k.lower() not in ("content-type", "content-length")}
            current = yield httpx.Request("GET", request.url.copy_with(path=candidate, query=None), headers=kept)
            if current.status_code == 200 and "etag" in current.headers:
                etag = current.headers["etag"]
                break
        request.headers["If-Match"] = etag
        yield request


@asynccontextmanager
async def running(
    app: FastAPI, *, headers: dict[str, str] | None = None, reads_etag_first: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan and give an HTTP client bound to it (ASGI, no sockets); unless told otherwise the
    client sends a change refused for a missing If-Match again with the current ETag (``ReadsETagFirst``)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers=headers or {},
            auth=ReadsETagFirst() if reads_etag_first else None,
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


_HANDED_OUT: list[int] = []  # the ports this process gave out lately (the kernel may offer a closed one again)


def _striped_free_port(host: str = "127.0.0.1") -> int:
    """A port free right now, in this xdist worker's stripe (``(port // 2) % workers == index``: Linux offers even
    ports to ``bind(0)``), and not one this process gave out lately. Two workers never pick the same port, even
    in the moment between one picking it and its server binding it."""
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw")) if worker.removeprefix("gw").isdigit() else 0
    held: list[socket.socket] = []  # kept bound while searching, so the kernel offers another each time
    try:
        for _ in range(256):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(sock)
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
            if (port // 2) % count == index % count and port not in _HANDED_OUT:
                _HANDED_OUT.append(port)
                del _HANDED_OUT[:-512]
                return port
    finally:
        for sock in held:
            sock.close()
    raise RuntimeError(f"no free port in stripe {index} of {count}")


def stripe_free_ports() -> None:
    """Make ``shared.nats_server.free_port`` (what the tests, NatsServer and the process harnesses use) give
    ports of this worker's stripe only (called by tests/conftest.py before test modules import it)."""
    import shared.nats_server

    shared.nats_server.free_port = _striped_free_port


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
    "ReadsETagFirst",
    "auth",
    "create_postgres_database",
    "drop_postgres_database",
    "first",
    "if_match",
    "register_users",
    "running",
    "service_settings",
    "stripe_free_ports",
    "token",
    "wait_until",
]
