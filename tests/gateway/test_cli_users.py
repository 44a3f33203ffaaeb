"""``kam users add`` creates the first admin, who can then log in at the gateway."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.app import create_app
from gateway.config import GatewaySettings
from kam.cli import app as kam
from tests.support import running, service_settings


def test_kam_users_add_creates_an_admin_who_can_log_in_and_administer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    monkeypatch.setenv("KAM_GATEWAY_DATABASE_URL", database_url)
    monkeypatch.setenv("KAM_GATEWAY_PASSWORD_TIME_COST", "1")
    monkeypatch.setenv("KAM_GATEWAY_PASSWORD_MEMORY_KIB", "1024")
    runner = CliRunner()
    added = runner.invoke(kam, ["users", "add", "boss", "--name", "老板", "--password", "first-admin-pw"])
    assert added.exit_code == 0, added.output
    again = runner.invoke(kam, ["users", "add", "boss", "--password", "first-admin-pw"])
    assert again.exit_code == 1 and "already exists" in again.output
    listed = runner.invoke(kam, ["users", "list"])
    assert "boss" in listed.output and "admin" in listed.output

    asyncio.run(_logs_in_and_administers(database_url))


async def _logs_in_and_administers(database_url: str) -> None:
    app = create_app(service_settings(GatewaySettings, database_url=database_url, nats_url=None))
    async with running(app) as client:
        login = await client.post("/api/v1/auth/token", data={"username": "boss", "password": "first-admin-pw"})
        assert login.status_code == 200 and login.json()["roles"] == ["admin"]
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert (await client.get("/api/v1/users", headers=bearer)).json()["items"][0]["name"] == "老板"
