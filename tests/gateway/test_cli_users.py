"""``kam users`` creates the first admin, who can then log in at the gateway; every change it makes is published
to the services like one made through the API."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from gateway.app import create_app
from gateway.config import GatewaySettings
from kam.cli import app as kam
from tests.gateway.platform import Platform, known_by
from tests.support import running, service_settings, wait_until


def _outbox(db_file: Path) -> list[dict]:
    with sqlite3.connect(db_file) as conn:
        rows = conn.execute("SELECT payload FROM outbox ORDER BY seq").fetchall()
    return [orjson.loads(payload) for (payload,) in rows]


def _gateway_env(monkeypatch: pytest.MonkeyPatch, db_file: Path) -> None:
    monkeypatch.setenv("KAM_GATEWAY_DATABASE_URL", f"sqlite+aiosqlite:///{db_file}")
    monkeypatch.setenv("KAM_GATEWAY_PASSWORD_TIME_COST", "1")
    monkeypatch.setenv("KAM_GATEWAY_PASSWORD_MEMORY_KIB", "1024")


def test_kam_users_add_creates_an_admin_who_can_log_in_and_administer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _gateway_env(monkeypatch, tmp_path / "gateway.db")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
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


def test_kam_users_add_and_set_publish_identity_events_in_the_same_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    db_file = tmp_path / "gateway.db"
    _gateway_env(monkeypatch, db_file)
    runner = CliRunner()
    options = ["-r", "account_manager", "--name", "李经理", "--email", "li@example.cn", "--channel", "wecom=LiLei"]
    added = runner.invoke(kam, ["users", "add", "am-li", *options, "--password", "li-password-1"])
    assert added.exit_code == 0, added.output
    changed = runner.invoke(kam, ["users", "set", "am-li", "-r", "account_manager", "-r", "supervisor"])
    assert changed.exit_code == 0 and "account_manager, supervisor" in changed.output, changed.output
    deactivated = runner.invoke(kam, ["users", "set", "am-li", "--inactive"])
    assert deactivated.exit_code == 0 and "inactive" in deactivated.output, deactivated.output
    events = [(e["type"], e["source"], e["data"]) for e in _outbox(db_file)]
    assert [(t, s) for t, s, _ in events] == [
        ("identity.user_registered", "gateway"),
        ("identity.user_updated", "gateway"),
        ("identity.user_deactivated", "gateway"),
    ]
    assert events[0][2] == {
        "user_id": "am-li",
        "display_name": "李经理",
        "roles": ["account_manager"],
        "active": True,
        "email": "li@example.cn",
        "channels": {"wecom": "LiLei"},
    }
    assert events[2][2]["active"] is False and events[2][2]["roles"] == ["account_manager", "supervisor"]

    bad = runner.invoke(kam, ["users", "add", "x-user", "--channel", "telegram=@x", "--password", "long-enough-1"])
    assert bad.exit_code == 1 and "channels" in bad.output
    unknown = runner.invoke(kam, ["users", "set", "nobody", "--inactive"])
    assert unknown.exit_code == 1 and "not found" in unknown.output
    assert len(_outbox(db_file)) == 3


def test_a_user_added_with_kam_users_reaches_every_service(platform: Platform, monkeypatch: pytest.MonkeyPatch):
    """The CLI writes to the database of the running gateway, whose relay publishes the event to the services."""
    _gateway_env(monkeypatch, platform.workdir / "gateway.db")
    added = CliRunner().invoke(
        kam, ["users", "add", "cli-zhou", "-r", "risk_officer", "--name", "周风控", "--password", "zhou-pw-2026"]
    )
    assert added.exit_code == 0, added.output

    async def every_service_knows() -> None:
        async with httpx.AsyncClient(base_url=platform.api, timeout=30) as api:
            for service in platform.services:
                row = await wait_until(
                    lambda service=service: known_by(api, service, ["cli-zhou"]), timeout=30, message=service
                )
                assert row["cli-zhou"]["roles"] == ["risk_officer"] and row["cli-zhou"]["display_name"] == "周风控"

    asyncio.run(every_service_knows())
