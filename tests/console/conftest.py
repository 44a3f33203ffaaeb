"""Fixtures of the console tests: a real platform (NATS, the services, notifications and the gateway as processes)
seeded through the API, and a real headless Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from shared.nats_server import NatsServer
from shared.vocabulary import SERVICE_NAMES
from tests.gateway.platform import ServiceProcess, create_users, gateway_process, start_services
from tests.support import auth, wait_until

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "platform-pw-2026"  # what tests.gateway.platform.create_users gives every user
CONSOLE_USERS: dict[str, list[str]] = {
    "sup-wang": ["supervisor"],
    "am-li": ["account_manager"],
    "am-zhang": ["account_manager"],
    "viewer-zhao": ["viewer"],
}


def ensure_chromium() -> Path:
    """The system Chromium, installed from the distribution's packages when missing (never a downloaded build);
    a CJK font too, so that screenshots show the Chinese labels."""
    if not CHROMIUM.exists():
        assert shutil.which("apt-get"), "the system chromium package is needed and apt-get is not available"
        subprocess.run(["apt-get", "update"], check=False, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, capture_output=True, timeout=900)
    if not Path("/usr/share/fonts/truetype/wqy").exists() and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "fonts-wqy-zenhei"], check=False, capture_output=True, timeout=600)
    return CHROMIUM


@dataclass
class ConsolePlatform:
    """The running platform, its gateway's address and the seeded objects."""

    gateway: ServiceProcess
    accounts: dict[str, str] = field(default_factory=dict)  # label → account id
    complaints: dict[str, str] = field(default_factory=dict)  # label → complaint id

    @property
    def base(self) -> str:
        return self.gateway.url

    @property
    def host(self) -> str:
        return self.base.removeprefix("http://")


async def _seed(plat: ConsolePlatform) -> None:
    async with httpx.AsyncClient(base_url=plat.base + "/api/v1", timeout=60) as client:
        await create_users(client, CONSOLE_USERS)
    supervisor = auth("supervisor", user_id="sup-wang")
    async with httpx.AsyncClient(base_url=plat.base + "/api/v1", headers=supervisor, timeout=60) as client:
        for label, name, owner in (
            ("li", "华东精密制造有限公司", "am-li"),
            ("zhang", "深圳云启科技股份有限公司", "am-zhang"),
        ):
            body = {"name": name, "industry": "制造业", "region": "华东", "status": "key_account", "owner_id": owner}
            response = await client.post("/accounts", json=body)
            assert response.status_code == 201, response.text
            plat.accounts[label] = response.json()["id"]

        async def opened() -> str:  # "" until the complaints service knows the account
            body = {
                "account_id": plat.accounts["li"],
                "title": "交付延迟两周",
                "description": "客户反映最近两批订单均延迟交付。",
                "category": "delivery_timeliness",
                "severity": "high",
            }
            response = await client.post("/complaints", json=body)
            return str(response.json()["id"]) if response.status_code == 201 else ""

        plat.complaints["li"] = await wait_until(opened, timeout=60, interval=0.2, message="the complaint to open")


@pytest.fixture(scope="package")
def console_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsolePlatform]:
    """NATS, the four services, notifications and the gateway, with the console users, two accounts (one per
    account manager) and a new complaint on am-li's account."""
    workdir = tmp_path_factory.mktemp("console-platform")
    server = NatsServer(workdir / "nats").start()
    services = start_services(workdir, server.url, (*SERVICE_NAMES, "notifications"))
    gateway = gateway_process(workdir, server.url, services).start()
    plat = ConsolePlatform(gateway=gateway)
    try:
        gateway.wait_ready()
        asyncio.run(_seed(plat))
        yield plat
    finally:
        gateway.stop()
        for proc in services.values():
            proc.stop()
        server.stop()


@pytest.fixture(scope="package")
def artifacts() -> Path:
    """Where the walk's screenshots go."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
