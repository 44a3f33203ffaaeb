"""Fixtures of the gateway tests: one platform (NATS, four services, gateway as processes) for this package."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from shared.nats_server import NatsServer
from tests.gateway.platform import (
    PLATFORM_USERS,
    Platform,
    create_users,
    gateway_process,
    publish_events,
    registered,
    start_services,
)
from tests.support import auth, wait_until


def _projected(db_file: str, account_ids: list[str]) -> bool:
    with sqlite3.connect(db_file) as conn:
        marks = ",".join("?" * len(account_ids))
        found = conn.execute(
            f"SELECT count(*) FROM account_projection WHERE account_id IN ({marks})", account_ids
        ).fetchone()[0]
    return bool(found == len(account_ids))


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Everything running, with the test users known to every service and three accounts registered over NATS and
    projected by every app."""
    workdir = tmp_path_factory.mktemp("platform")
    server = NatsServer(workdir / "nats").start()
    services = start_services(workdir, server.url)
    gateway = gateway_process(workdir, server.url, services).start()
    plat = Platform(workdir=workdir, nats=server, services=services, gateway=gateway)
    specs = {
        "li": ("华东精密制造有限公司", "am-li", []),
        "zhang": ("深圳云启科技股份有限公司", "am-zhang", []),
        "shared": ("北京联合能源集团", "am-zhang", ["am-li"]),
    }

    async def _register() -> None:
        async with httpx.AsyncClient(base_url=plat.api, timeout=60) as client:
            await create_users(client, PLATFORM_USERS)  # owners must be known users before accounts name them
        async with httpx.AsyncClient(
            base_url=plat.api, headers=auth("supervisor", user_id="sup-wang"), timeout=60
        ) as client:
            for label, (name, owner, team) in specs.items():
                body = {"name": name, "industry": "制造业", "region": "华东", "status": "key_account"}
                response = await client.post("/accounts", json={**body, "owner_id": owner, "team_member_ids": team})
                if response.status_code == 201:
                    plat.accounts[label] = response.json()["id"]
                else:  # the registry API is not there: announce the account as scoring would
                    assert response.status_code in (404, 405), response.text
                    event = registered(name, owner_id=owner, team=team)
                    await publish_events(server.url, event)
                    plat.accounts[label] = str(event.account_id)
        ids = list(plat.accounts.values())
        for name in [*(s for s in services if s != "scoring"), "gateway"]:  # scoring owns the registry

            async def projected(db: str = str(workdir / f"{name}.db")) -> bool:
                return _projected(db, ids)

            await wait_until(projected, timeout=60, message=f"{name} to project the accounts")
        async with httpx.AsyncClient(base_url=plat.api, headers=auth("admin"), timeout=60) as client:

            async def documented() -> bool:
                doc = (await client.get(f"{gateway.url}/openapi.json")).json()
                return not doc.get("info", {}).get("x-services-missing")

            await wait_until(documented, timeout=60, message="the merged OpenAPI document")

    try:
        gateway.wait_ready()
        asyncio.run(_register())
        yield plat
    finally:
        gateway.stop()
        for proc in services.values():
            proc.stop()
        server.stop()


@pytest.fixture
async def api(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the gateway's /api/v1 (no credentials: each test sends its own)."""
    async with httpx.AsyncClient(base_url=platform.api, timeout=30) as client:
        yield client
