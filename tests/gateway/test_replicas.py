"""Two gateway replicas on one database and one NATS: rate limits and login throttling hold across both, and a
write through one (or a service's event) invalidates the cached views on both."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson
from fastapi import FastAPI

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.runtime import GatewayRuntime
from shared.clock import FrozenClock
from shared.nats_server import free_port
from tests.conftest import DatabaseFactory
from tests.gateway.platform import seed_users
from tests.support import auth, running, service_settings, wait_until


def replica_settings(database_url: str, nats_url: str | None, **overrides: Any) -> GatewaySettings:
    """One replica's settings: the shared database and NATS, services on a dead port (nothing here calls them)."""
    dead = f"http://127.0.0.1:{free_port()}"
    values: dict[str, Any] = {name: dead for name in ("scoring_url", "complaints_url", "risk_url", "goals_url")}
    values.update(password_time_cost=1, password_memory_kib=1024, **overrides)
    return service_settings(GatewaySettings, database_url=database_url, nats_url=nats_url, **values)


@asynccontextmanager
async def two_replicas(
    settings: GatewaySettings, clock: FrozenClock | None = None
) -> AsyncIterator[tuple[list[FastAPI], list[httpx.AsyncClient]]]:
    """Replicas A and B started one after the other (as a rolling start does), each with its HTTP client."""
    apps = [create_app(settings, clock=clock), create_app(settings, clock=clock)]
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(running(app)) for app in apps]
        yield apps, clients


async def login(app: FastAPI, user: str, password: str, address: str) -> int:
    """Status of one password login to a running replica, sent from client ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as one:
        response = await one.post("/api/v1/auth/token", data={"username": user, "password": password})
    return response.status_code


async def test_a_client_alternating_between_replicas_is_limited_at_the_configured_total(
    make_database: DatabaseFactory,
):
    clock = FrozenClock(datetime.now(UTC))  # no refill while the test runs: the totals are exact
    settings = replica_settings(
        await make_database("gateway"), None, rate_limit_per_minute=60, rate_limit_burst=40, rate_limit_lease=4
    )
    async with two_replicas(settings, clock) as (apps, clients):
        await seed_users(apps[0], {"v-1": ["viewer"], "v-2": ["viewer"]})
        caller = auth("viewer", user_id="v-1")
        statuses = [(await clients[i % 2].get("/api/v1/me", headers=caller)).status_code for i in range(60)]
        admitted = [i for i, status in enumerate(statuses) if status == 200]
        assert len(admitted) == 40, "one shared bucket of 40, not 40 per replica"
        assert {i % 2 for i in admitted} == {0, 1}, "both replicas admitted requests"
        assert statuses[40:] == [429] * 20
        refused = await clients[1].get("/api/v1/me", headers=caller)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert (await clients[0].get("/api/v1/me", headers=auth("viewer", user_id="v-2"))).status_code == 200
        clock.advance(timedelta(seconds=1))  # one token back, for whichever replica asks first
        again = [(await clients[i].get("/api/v1/me", headers=caller)).status_code for i in (1, 0)]
        assert again == [200, 429]


async def test_login_throttling_per_account_and_per_client_holds_across_replicas(make_database: DatabaseFactory):
    settings = replica_settings(
        await make_database("gateway"),
        None,
        login_rate_limit_per_minute=6,  # burst 5 per client address
        login_account_rate_limit_per_minute=1,
        login_account_burst=3,
    )
    async with two_replicas(settings) as (apps, _):
        await seed_users(apps[0], {"am-li": ["account_manager"], "am-zhang": ["account_manager"]})
        # Failed logins as one account from ever new addresses, alternating replicas: the account's burst is shared.
        guesses = [await login(apps[i % 2], "am-li", "wrong-guess", f"10.0.0.{i}") for i in range(4)]
        assert guesses == [401, 401, 401, 429]
        assert await login(apps[1], "am-li", "seeded-pw-2026", "10.0.1.1") == 429  # throttled, even if right
        # Successful logins do not count against the account (a refund on each replica).
        right = [await login(apps[i % 2], "am-zhang", "seeded-pw-2026", f"10.0.2.{i}") for i in range(5)]
        assert right == [200] * 5
        # Every attempt from one address counts, whichever replica and account it names.
        tries = [await login(apps[i % 2], f"nobody-{i}", "guess", "192.0.2.7") for i in range(6)]
        assert tries == [401] * 5 + [429]
        assert await login(apps[0], "am-zhang", "seeded-pw-2026", "192.0.2.8") == 200


class Upstream:
    """A stand-in for the complaints service: accepts a complaint about an account (and publishes no event)."""

    def __init__(self, account_id: str) -> None:
        self.app = FastAPI()
        self.account_id = account_id

        @self.app.post("/complaints/complaints", status_code=201)
        async def create() -> dict[str, str]:
            return {"id": str(uuid.uuid4()), "account_id": self.account_id}

        @self.app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

    async def attach(self, runtime: GatewayRuntime) -> None:
        """Route the replica's complaints calls here (its health probe then closes the breaker the dead port opened)."""
        upstream = runtime.upstreams["complaints"]
        upstream.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=upstream.base_url)

        async def closed() -> bool:
            return upstream.breaker.state == "closed"

        await wait_until(closed, message="the health probe to reach the stand-in")


async def cached(runtime: GatewayRuntime, account_id: str) -> bool:
    """Put one section of the account into this replica's cache; whether it is held."""

    async def fetch() -> tuple[str, bool]:
        return f"section of {account_id}", True

    key = ("account", "complaints", account_id)
    await runtime.cache.fetch(key, account_id, fetch)  # type: ignore[arg-type]
    return runtime.cache.get(key, account_id) is not None


def holds(runtime: GatewayRuntime, account_id: str) -> bool:
    return runtime.cache.get(("account", "complaints", account_id), account_id) is not None


async def test_a_write_through_one_replica_and_a_service_event_invalidate_the_cached_views_on_both(
    sqlite_database: DatabaseFactory, nats_url: str, tmp_path: Path
):
    changed, untouched, other = (str(uuid.uuid4()) for _ in range(3))
    settings = replica_settings(
        await sqlite_database("gateway"), nats_url, cache_ttl_seconds=300, cache_refresh_after_seconds=300
    )
    async with two_replicas(settings) as (apps, clients):
        a, b = (app.state.runtime for app in apps)

        async def both_listening() -> bool:
            return bool(a.cache_active and b.cache_active)

        await wait_until(both_listening, message="both replicas to subscribe to the change feeds")
        await seed_users(apps[0], {"u-admin": ["admin"]})
        await Upstream(changed).attach(a)
        for runtime in (a, b):
            for account in (changed, untouched, other):
                assert await cached(runtime, account)

        written = await clients[0].post("/api/v1/complaints/complaints", json={"account_id": changed}, headers=auth())
        assert written.status_code == 201
        assert not holds(a, changed)  # at once on the replica that forwarded the write

        async def dropped_on_b() -> bool:
            return not holds(b, changed)

        await wait_until(dropped_on_b, message="replica B to drop the section written through replica A")
        assert holds(b, untouched) and holds(a, untouched)

        nc = await nats.connect(nats_url)
        try:
            event = {"type": "complaints.complaint_updated", "account_id": other, "data": {}}
            await nc.publish("kam.complaints.complaint_updated", orjson.dumps(event))
            await nc.flush()
        finally:
            await nc.close()

        async def dropped_on_both() -> bool:
            return not holds(a, other) and not holds(b, other)

        await wait_until(dropped_on_both, message="a service's event to reach both replicas")
        assert holds(a, untouched) and holds(b, untouched)
