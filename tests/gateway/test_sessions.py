"""Sessions at the gateway: logout and deactivation end access at once, a replayed logged-out refresh token is
refused without signing the user out everywhere, and X-Forwarded-For from a client is not its address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from tests.gateway.platform import offline_gateway_settings, seed_users
from tests.support import auth, running

ADMIN = auth("admin", user_id="root")
PASSWORD = "seeded-pw-2026"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process gateway (services down: only its own routes are called)."""
    app = create_app(offline_gateway_settings(tmp_path, login_rate_limit_per_minute=1))
    async with running(app) as client:
        await seed_users(app, {"root": ["admin"], "am-li": ["account_manager"]}, password=PASSWORD)
        yield client


async def _session(client: httpx.AsyncClient) -> dict[str, str]:
    login = await client.post("/api/v1/auth/token", data={"username": "am-li", "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens: dict[str, str] = login.json()
    return tokens


async def _refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})


async def test_a_replayed_logged_out_refresh_token_is_refused_and_the_other_sessions_live_on(client):
    laptop, phone = await _session(client), await _session(client)
    logout = await client.post("/api/v1/auth/logout", json={"refresh_token": laptop["refresh_token"]})
    assert logout.status_code == 204
    replay = await _refresh(client, laptop["refresh_token"])
    assert replay.status_code == 401 and "already used" not in replay.json()["detail"]
    assert (await _refresh(client, phone["refresh_token"])).status_code == 200, "the phone's session is untouched"


async def test_a_replayed_spent_refresh_token_ends_every_session_of_the_user(client):
    laptop, phone = await _session(client), await _session(client)
    assert (await _refresh(client, laptop["refresh_token"])).status_code == 200
    stolen = await _refresh(client, laptop["refresh_token"])
    assert stolen.status_code == 401 and "already used" in stolen.json()["detail"]
    assert (await _refresh(client, phone["refresh_token"])).status_code == 401


async def test_deactivation_ends_the_users_access_and_refresh_tokens_at_once(client):
    session = await _session(client)
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200
    assert (await client.patch("/api/v1/users/am-li", json={"active": False}, headers=ADMIN)).status_code == 200
    refused = await client.get("/api/v1/me", headers=bearer)
    assert refused.status_code == 401 and "deactivated" in refused.json()["detail"]
    assert (await _refresh(client, session["refresh_token"])).status_code == 401


async def test_a_clients_own_x_forwarded_for_does_not_escape_the_login_limit_of_its_address(client):
    """The app reads the client address from the connection only; behind a proxy uvicorn --proxy-headers takes it
    from X-Forwarded-For, and only from the addresses in --forwarded-allow-ips (docs/DEPLOY.md)."""
    statuses = []
    for n in range(6):  # the per-address burst is 5 at 1 a minute
        forwarded = {"X-Forwarded-For": f"203.0.113.{n}"}
        response = await client.post(
            "/api/v1/auth/token", data={"username": f"nobody-{n}", "password": "wrong-pw"}, headers=forwarded
        )
        statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429]
