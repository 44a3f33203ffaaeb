"""The platform the fault tests break: NATS (production durability), complaints, notifications, a probe consumer and
the gateway as real processes, with users and one account known to all of them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from shared.nats_server import SYNC_ALWAYS, NatsServer, free_port
from tests.fault.harness import FAULT_USERS, FaultPlatform, query
from tests.gateway.platform import SETUP, ServiceProcess, gateway_process, known_by, publish_events, registered
from tests.support import BACKENDS, POSTGRES_URL, create_postgres_database, drop_postgres_database, wait_until

CONSUMERS = ("notifications", "probe")  # the consumers of complaints.opened in this platform


def _projected(platform: FaultPlatform, service: str) -> bool:
    sql = "SELECT count(*) FROM account_projection WHERE account_id = ?"
    return bool(query(platform, service, sql, platform.account_id)[0][0])


def _databases(backend: str) -> dict[str, str]:
    """PostgreSQL: a fresh database for each service of the platform (SQLite: the services' own files)."""
    if backend == "sqlite":
        return {}
    assert POSTGRES_URL is not None
    return {name: asyncio.run(create_postgres_database(POSTGRES_URL)) for name in ("complaints", *CONSUMERS)}


@pytest.fixture(scope="package", params=BACKENDS)
def fault_platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultPlatform]:
    backend = str(request.param)
    workdir = tmp_path_factory.mktemp(f"fault-{backend}")
    databases = _databases(backend)
    try:
        yield from _platform(workdir, backend, databases)
    finally:
        for url in databases.values():
            asyncio.run(drop_postgres_database(url))


def _platform(workdir, backend: str, databases: dict[str, str]) -> Iterator[FaultPlatform]:
    server = NatsServer(workdir / "nats", sync_interval=SYNC_ALWAYS).start()
    names = ("complaints", "notifications")
    env = {name: {"database_url": url} for name, url in databases.items()}
    services = {
        name: ServiceProcess(name, free_port(), workdir, server.url, extra_env=env.get(name, {})).start()
        for name in names
    }
    services["probe"] = ServiceProcess(
        "probe",
        free_port(),
        workdir,
        server.url,
        factory="tests.fault.probe_app:create_app",
        extra_env=env.get("probe", {}),
    ).start()
    dead = f"http://127.0.0.1:{free_port()}"  # scoring, risk and goals are not part of these tests
    # The load is the test's, not an abuser's: the gateway's rate limit must not be what refuses a request.
    gateway = gateway_process(
        workdir,
        server.url,
        {"complaints": services["complaints"]},
        rate_limit_per_minute="600000",
        rate_limit_burst="100000",
    )
    gateway.extra_env.update({f"{name}_url": dead for name in ("scoring", "risk", "goals")})
    gateway.extra_env["notifications_url"] = services["notifications"].url
    gateway.start()
    platform = FaultPlatform(
        workdir=workdir, nats=server, services=services, gateway=gateway, backend=backend, databases=databases
    )

    async def _prepare() -> None:
        async with httpx.AsyncClient(base_url=platform.api, timeout=60) as api:
            for user_id, roles in FAULT_USERS.items():
                body = {"user_id": user_id, "name": user_id, "password": "fault-pw-2026", "roles": roles}
                response = await api.post("/users", json=body, headers=SETUP)
                assert response.status_code in (201, 409), response.text
            for service in names:
                await wait_until(
                    lambda service=service: known_by(api, service, list(FAULT_USERS)),
                    timeout=60,
                    message=f"{service} to hear of the users",
                )
        event = registered("故障演练客户有限公司", owner_id="am-li")
        await publish_events(server.url, event)
        platform.account_id = str(event.account_id)
        for name in names:
            await wait_until(
                lambda name=name: asyncio.to_thread(_projected, platform, name),
                timeout=60,
                message=f"{name} to project the account",
            )

    try:
        for proc in [*services.values(), gateway]:
            proc.wait_ready()
        asyncio.run(_prepare())
        yield platform
    finally:
        gateway.stop()
        for proc in services.values():
            proc.stop()
        server.stop()
