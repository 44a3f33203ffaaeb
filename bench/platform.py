"""The whole platform for a benchmark: its own NATS, the four services, notifications and the gateway as real uvicorn
processes on free ports (SQLite files, or fresh PostgreSQL databases), the benchmark's users, and the principal not
rate-limited.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import ROOT, SECRET, rss_mib, stop, token, uvicorn, wait_ok
from shared.vocabulary import SERVICE_NAMES

# Every service the gateway composes, and notifications (it proxies them too; the consumer of complaints.opened).
SERVICES: tuple[str, ...] = (*SERVICE_NAMES, "notifications")
USERS = (("sup-wang", "supervisor"), ("am-li", "account_manager"), ("am-zhang", "account_manager"))


async def create_postgres_database(base_url: str) -> str:
    """A fresh database on the server of ``base_url`` (its URL)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    name = f"kam_bench_{uuid.uuid4().hex[:10]}"
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


async def postgres_version(base_url: str) -> str:
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    conn = await asyncpg.connect(
        user=url.username or "postgres",
        password=url.password,
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        database=url.database or "postgres",
    )
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def database_url(kind: str, workdir: Path, name: str, postgres_url: str | None) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / (name + '.db')}"
    assert postgres_url is not None
    return asyncio.run(create_postgres_database(postgres_url))


@dataclass
class Platform:
    """A running platform; ``stop()`` ends every process it started."""

    workdir: Path
    backend: str
    env: dict[str, str]
    urls: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]]
    nats: Any
    cold_start_seconds: float
    databases: dict[str, str] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return f"{self.urls['gateway']}/api/v1"

    def headers(self, user_id: str = "sup-wang", role: str = "supervisor") -> dict[str, str]:
        return {"Authorization": f"Bearer {token(user_id, [role])}"}

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.api, headers=self.headers(), timeout=60, **kw)

    def rss(self) -> dict[str, float]:
        out = {name: rss_mib(proc.pid) for name, proc in self.procs.items()}
        if self.nats.process is not None:
            out["nats-server"] = rss_mib(self.nats.process.pid)
        return out

    def register_accounts(
        self, client: httpx.Client, n: int, *, batch: int = 100, start: int = 0
    ) -> tuple[list[float], list[str]]:
        """Register ``n`` accounts through the gateway in batches; the seconds each batch took, and their ids."""
        timings: list[float] = []
        ids: list[str] = []
        for offset in range(0, n, batch):
            bodies = [account_body(start + offset + i) for i in range(min(batch, n - offset))]
            began = time.perf_counter()
            response = client.post("/accounts/batch", json={"accounts": bodies})
            timings.append(time.perf_counter() - began)
            if response.status_code != 201:
                raise RuntimeError(f"batch registration answered {response.status_code}: {response.text[:500]}")
            ids += [item["id"] for item in response.json()["items"]]
        return timings, ids

    def stop(self) -> None:
        stop(list(self.procs.values()))
        self.nats.stop()


def account_body(i: int) -> dict[str, Any]:
    return {
        "name": f"基准客户{i:06d}有限公司",
        "industry": ("制造业", "汽车", "新能源", "医药")[i % 4],
        "region": ("华东", "华南", "华北", "西南")[i % 4],
        "owner_id": ("am-li", "am-zhang")[i % 2],
        "status": "key_account",
    }


def start_platform(workdir: Path, *, backend: str = "sqlite", postgres_url: str | None = None) -> Platform:
    """Start NATS, the services and the gateway; wait until all are ready; create the users every token names."""
    from shared.nats_server import NatsServer, free_port

    workdir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    nats = NatsServer(workdir / "nats").start()
    env = dict(os.environ)
    urls: dict[str, str] = {}
    databases: dict[str, str] = {}
    for name in (*SERVICES, "gateway"):
        port = free_port()
        prefix = f"KAM_{name.upper()}_"
        databases[name] = database_url(backend, workdir, name, postgres_url)
        env.update(
            {
                f"{prefix}DATABASE_URL": databases[name],
                f"{prefix}NATS_URL": nats.url,
                f"{prefix}JWT_SECRET": SECRET,
                f"{prefix}ENVIRONMENT": "test",
                f"{prefix}LOG_LEVEL": "WARNING",
                f"{prefix}PORT": str(port),
            }
        )
        urls[name] = f"http://127.0.0.1:{port}"
    for name in SERVICES:
        env[f"KAM_GATEWAY_{name.upper()}_URL"] = urls[name]
    # The benchmark principal is not rate-limited: a throttled run would measure the limiter.
    env["KAM_GATEWAY_RATE_LIMIT_PER_MINUTE"] = "1000000000"
    env["KAM_GATEWAY_RATE_LIMIT_BURST"] = "100000000"
    env["KAM_GOALS_IMPORT_SPOOL_DIR"] = str(workdir / "spool")
    env["KAM_NOTIFICATIONS_EMAIL_ENABLED"] = "false"  # no mail relay here: messages stay in the inbox
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, url in urls.items():
            factory = "gateway.app:create_app" if name == "gateway" else f"services.{name}.app:create_app"
            procs[name] = uvicorn(factory, int(url.rsplit(":", 1)[1]), env, workdir / f"{name}.log")
        for name, url in urls.items():
            try:
                wait_ok(f"{url}/readyz", timeout=120, proc=procs[name])
            except (RuntimeError, TimeoutError) as exc:
                log = (workdir / f"{name}.log").read_text(errors="replace")[-2500:]
                raise RuntimeError(f"{name} did not start ({exc}); its log ends:\n{log}") from exc
        cold = time.perf_counter() - began
        for user_id, role in USERS:
            _add_user(env, user_id, role)
    except BaseException:
        stop(list(procs.values()))
        nats.stop()
        raise
    platform = Platform(workdir, backend, env, urls, procs, nats, cold, databases)
    _wait_users_known(platform)
    return platform


def _add_user(env: dict[str, str], user_id: str, role: str) -> None:
    """Create a user with ``kam users add`` (retried: the gateway's own start-up may hold the database briefly)."""
    add = [sys.executable, "-m", "kam.cli", "users", "add", user_id, "--role", role, "--password", "bench-pass-2026"]
    for attempt in range(5):
        out = subprocess.run(add, env=env, cwd=ROOT, capture_output=True, text=True)
        if out.returncode == 0 or "exists" in (out.stdout + out.stderr).lower():
            return
        if attempt == 4:
            raise RuntimeError(f"kam users add {user_id} failed: {(out.stdout + out.stderr)[-1500:]}")
        time.sleep(1)


def _wait_users_known(platform: Platform, timeout: float = 60) -> None:
    """Until an account can be registered for an account manager (the services have projected the users)."""
    deadline = time.monotonic() + timeout
    with platform.client() as client:
        while time.monotonic() < deadline:
            probe = client.post("/accounts", json=account_body(999_999) | {"name": "用户探针有限公司"})
            if probe.status_code == 201:
                return
            time.sleep(0.2)
    raise TimeoutError("the services did not learn the benchmark's users")


def shared_platform(ctx: Any, backend: str = "sqlite") -> Platform:
    """The platform scenarios of one run share (started on first use, stopped by the runner)."""
    if backend not in ctx.platforms:
        ctx.platforms[backend] = start_platform(
            ctx.workdir / f"platform-{backend}", backend=backend, postgres_url=ctx.postgres_url
        )
    platform: Platform = ctx.platforms[backend]
    return platform
