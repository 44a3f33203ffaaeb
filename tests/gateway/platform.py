"""The four services as real uvicorn processes on free ports (SQLite files, a NATS of their own)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
from fastapi import FastAPI

from gateway.config import GatewaySettings
from shared.auth import ROLES
from shared.events import AccountRegistered
from shared.nats_server import NatsServer, free_port
from shared.vocabulary import SERVICE_NAMES
from tests.support import TEST_JWT_SECRET, auth, service_settings, wait_until

ROOT = Path(__file__).resolve().parents[2]

# The users the gateway tests act as (their tokens name them, and the gateway refuses tokens of unknown users).
PLATFORM_USERS: dict[str, list[str]] = {
    "root": ["admin"],
    "sup-wang": ["supervisor"],
    "am-li": ["account_manager"],
    "am-zhang": ["account_manager"],
    **{f"matrix-{role}": [role] for role in ROLES},
}


def offline_gateway_settings(tmp_path: Path, **overrides: Any) -> GatewaySettings:
    """A gateway whose services are not running (a dead port): for checks made before any upstream call."""
    dead = f"http://127.0.0.1:{free_port()}"
    values: dict[str, Any] = {
        "scoring_url": dead,
        "complaints_url": dead,
        "risk_url": dead,
        "goals_url": dead,
        "password_time_cost": 1,
        "password_memory_kib": 1024,
        **overrides,
    }
    return service_settings(
        GatewaySettings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}", nats_url=None, **values
    )


# An integration's token (``kind=service`` names no user): how the test set-up creates the first users.
SETUP = auth("admin", user_id="platform-setup", kind="service")


@dataclass
class ServiceProcess:
    """One service running under uvicorn."""

    name: str
    port: int
    workdir: Path
    nats_url: str
    factory: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        prefix = f"KAM_{self.name.upper()}_"
        env = dict(os.environ)
        env.update(
            {
                f"{prefix}DATABASE_URL": f"sqlite+aiosqlite:///{self.workdir / (self.name + '.db')}",
                f"{prefix}NATS_URL": self.nats_url,
                f"{prefix}JWT_SECRET": TEST_JWT_SECRET,
                f"{prefix}ENVIRONMENT": "test",
                f"{prefix}LOG_LEVEL": "WARNING",
                f"{prefix}RELAY_POLL_SECONDS": "0.05",
                **{prefix + k.upper(): v for k, v in self.extra_env.items()},
            }
        )
        log = open(self.workdir / f"{self.name}.log", "ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                self.factory or f"services.{self.name}.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = 60.0, path: str = "/readyz") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, f"{self.name} exited; see its log"
            try:
                if httpx.get(f"{self.url}{path}", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout}s")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Platform:
    """NATS, the four services and the gateway as processes, and accounts registered over NATS."""

    workdir: Path
    nats: NatsServer
    services: dict[str, ServiceProcess]
    gateway: ServiceProcess
    accounts: dict[str, str] = field(default_factory=dict)  # label → account id

    @property
    def api(self) -> str:
        return f"{self.gateway.url}/api/v1"

    def gateway_settings(self, database_url: str, *, with_nats: bool = True, **overrides: Any) -> GatewaySettings:
        urls = {f"{name}_url": proc.url for name, proc in self.services.items()}
        values = {
            **urls,
            "health_probe_seconds": 0.2,
            "openapi_refresh_seconds": 0.5,
            "password_time_cost": 1,
            "password_memory_kib": 1024,
            **overrides,
        }
        return service_settings(
            GatewaySettings, database_url=database_url, nats_url=self.nats.url if with_nats else None, **values
        )


def gateway_process(
    workdir: Path, nats_url: str, services: dict[str, ServiceProcess], **settings: str
) -> ServiceProcess:
    """The gateway as a process in front of ``services`` (fast probes and OpenAPI refresh for tests; ``settings``
    override gateway settings by field name)."""
    extra = {f"{name}_url": proc.url for name, proc in services.items()}
    # A generous view budget: on a loaded test machine a slow answer is not what these tests are about.
    extra.update({"health_probe_seconds": "0.2", "openapi_refresh_seconds": "0.5", "view_timeout_seconds": "3"})
    extra.update({"password_time_cost": "1", "password_memory_kib": "1024"})  # cheap hashes in tests
    extra.update(settings)
    return ServiceProcess("gateway", free_port(), workdir, nats_url, factory="gateway.app:create_app", extra_env=extra)


def start_services(workdir: Path, nats_url: str, names: tuple[str, ...] = SERVICE_NAMES) -> dict[str, ServiceProcess]:
    """Start the services in parallel and wait until each is ready."""
    procs = {name: ServiceProcess(name, free_port(), workdir, nats_url).start() for name in names}
    try:
        for proc in procs.values():
            proc.wait_ready()
    except BaseException:
        for proc in procs.values():
            proc.stop()
        raise
    return procs


async def create_users(api: httpx.AsyncClient, users: dict[str, list[str]]) -> None:
    """Create users through the gateway's API (``api`` at /api/v1) and wait until every service knows them."""
    for user_id, roles in users.items():
        body = {"user_id": user_id, "name": user_id, "password": "platform-pw-2026", "roles": roles}
        response = await api.post("/users", json=body, headers=SETUP)
        assert response.status_code in (201, 409), response.text
    for service in SERVICE_NAMES:
        await wait_until(
            lambda service=service: known_by(api, service, list(users)),
            timeout=60,
            message=f"{service} to hear of the users",
        )


async def known_by(api: httpx.AsyncClient, service: str, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The rows of ``service``'s users projection for ``user_ids`` once it has them all (else empty)."""
    response = await api.get(f"/{service}/admin/users", params={"user_id": user_ids, "limit": 500}, headers=SETUP)
    if response.status_code != 200:
        return {}
    rows = {row["user_id"]: row for row in response.json()["items"]}
    return rows if set(rows) == set(user_ids) else {}


async def seed_users(app: FastAPI, users: dict[str, list[str]], *, password: str = "seeded-pw-2026") -> None:
    """Create users in a running in-process gateway, as the users API does (published to its outbox)."""
    from gateway import users as domain
    from gateway.schemas import UserCreate

    async with app.state.db.transaction() as session:
        for user_id, roles in users.items():
            body = UserCreate.model_validate({"user_id": user_id, "password": password, "roles": roles})
            await domain.create_user(
                session,
                body=body,
                passwords=app.state.runtime.passwords,
                publisher=app.state.publisher,
                actor_id="test-seed",
            )


def registered(name: str, owner_id: str, team: list[str] | None = None, tier: str = "key") -> AccountRegistered:
    """An ``accounts.registered`` event as scoring would publish it."""
    return AccountRegistered(
        source="scoring",
        account_id=str(uuid.uuid4()),
        data={
            "name": name,
            "industry": "制造业",
            "region": "华东",
            "status": "key_account",
            "tier": tier,
            "owner_id": owner_id,
            "team_member_ids": team or [],
        },
    )


async def publish_events(nats_url: str, *events: AccountRegistered) -> None:
    """Publish events on JetStream as the scoring outbox relay does (waiting for scoring's stream)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream(timeout=5)
        for event in events:
            deadline = time.monotonic() + 20
            while True:
                try:
                    await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id})
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.1)
    finally:
        await nc.close()


@contextlib.contextmanager
def running_platform(workdir: Path, owners: dict[str, str], **gateway_env: str) -> Iterator[Platform]:
    """NATS, the services and a gateway (``gateway_env`` added to its settings) with ``PLATFORM_USERS`` known to
    every service and one account per label of ``owners`` (label → owner id), registered through the API and
    projected everywhere; the merged OpenAPI document lists every service. Everything is stopped on exit."""
    server = NatsServer(workdir / "nats").start()
    services = start_services(workdir, server.url)
    gateway = gateway_process(workdir, server.url, services)
    gateway.extra_env.update(gateway_env)
    plat = Platform(workdir=workdir, nats=server, services=services, gateway=gateway.start())

    async def seed() -> None:
        async with httpx.AsyncClient(base_url=plat.api, timeout=60) as client:
            await create_users(client, PLATFORM_USERS)
            headers = auth("supervisor", user_id="sup-wang")
            for label, owner in owners.items():
                body = {"name": f"{label} 精密制造有限公司", "industry": "制造业", "region": "华东", "owner_id": owner}
                response = await client.post("/accounts", json={**body, "status": "key_account"}, headers=headers)
                assert response.status_code == 201, response.text
                plat.accounts[label] = response.json()["id"]
            ids = list(plat.accounts.values())
            for name in [*(s for s in services if s != "scoring"), "gateway"]:  # scoring owns the registry
                db = workdir / f"{name}.db"
                await wait_until(lambda db=db: _projected(db, ids), timeout=60, message=f"{name} to project accounts")

            async def documented() -> bool:
                doc = (await client.get(f"{plat.gateway.url}/openapi.json")).json()
                return not doc.get("info", {}).get("x-services-missing")

            await wait_until(documented, timeout=60, message="the merged OpenAPI document")

    try:
        gateway.wait_ready()
        asyncio.run(seed())
        yield plat
    finally:
        gateway.stop()
        for proc in services.values():
            proc.stop()
        server.stop()


async def _projected(db_file: Path, account_ids: list[str]) -> bool:
    with contextlib.closing(sqlite3.connect(db_file)) as conn:
        marks = ",".join("?" * len(account_ids))
        query = f"SELECT count(*) FROM account_projection WHERE account_id IN ({marks})"
        return bool(conn.execute(query, account_ids).fetchone()[0] == len(account_ids))
