"""API keys through the gateway: they expire, rotate with a grace period (two live secrets, then one), reach only
their scopes (read refuses writes, on proxied routes and the gateway's own), and never get ``service`` by default."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from shared.clock import FrozenClock
from tests.gateway.platform import offline_gateway_settings, seed_users
from tests.support import auth, running

ADMIN = auth("admin", user_id="root")
START = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, FrozenClock]]:
    """An in-process gateway on a frozen clock; its services are down (a call the edge lets through is a 503)."""
    clock = FrozenClock(START)
    app = create_app(offline_gateway_settings(tmp_path), clock=clock)
    async with running(app) as client:
        await seed_users(app, {"root": ["admin"]})
        yield client, clock


async def _create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/api-keys", json={"name": "ERP 集成", **body}, headers=ADMIN)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _key(secret: str) -> dict[str, str]:
    return {"X-API-Key": secret}


async def _me(client: httpx.AsyncClient, secret: str) -> httpx.Response:
    return await client.get("/api/v1/me", headers=_key(secret))


async def test_a_key_expires_by_default_within_the_maximum_and_an_expired_key_is_a_401_saying_so(gateway):
    client, clock = gateway
    key = await _create(client, scopes=["views:read"])
    assert datetime.fromisoformat(key["expires_at"]) == START + timedelta(days=90)  # the default lifetime
    for expires_at, accepted in [
        (START + timedelta(days=365), True),  # the maximum
        (START + timedelta(days=366), False),
        (START - timedelta(minutes=1), False),
        ("2027-01-01T00:00:00", False),  # a time without an offset
    ]:
        stamp = expires_at if isinstance(expires_at, str) else expires_at.isoformat()
        response = await client.post(
            "/api/v1/api-keys", json={"name": "x", "scopes": ["views:read"], "expires_at": stamp}, headers=ADMIN
        )
        assert (response.status_code == 201) is accepted, (stamp, response.text)
        if not accepted:
            assert response.status_code == 422 and "expires_at" in response.text

    short = await _create(client, scopes=["views:read"], expires_at=(START + timedelta(hours=1)).isoformat())
    assert (await _me(client, short["api_key"])).status_code == 200
    clock.advance(timedelta(hours=1))
    expired = await _me(client, short["api_key"])
    assert expired.status_code == 401 and expired.headers["content-type"] == "application/problem+json"
    assert "expired" in expired.json()["detail"]
    rotate = await client.post(f"/api/v1/api-keys/{short['key_id']}/rotate", headers=ADMIN)
    assert rotate.status_code == 409, "an expired key is not brought back by a rotation"


async def test_rotation_keeps_the_old_secret_for_the_grace_period_then_only_the_new_one_works(gateway):
    client, clock = gateway
    key = await _create(client, scopes=["views:read"])
    old = key["api_key"]
    rotated = await client.post(f"/api/v1/api-keys/{key['key_id']}/rotate", headers=ADMIN)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["api_key"]
    assert new != old and rotated.json()["key_id"] == key["key_id"]
    assert datetime.fromisoformat(rotated.json()["previous_secret_expires_at"]) == START + timedelta(hours=24)

    listed = await client.get("/api/v1/api-keys", headers=ADMIN)
    assert listed.status_code == 200
    assert old not in listed.text and new not in listed.text and "secret_hash" not in listed.text
    assert all("api_key" not in item for item in listed.json())

    clock.advance(timedelta(hours=23, minutes=59))
    assert [(await _me(client, s)).status_code for s in (old, new)] == [200, 200], "two live secrets in the roll-over"
    clock.advance(timedelta(minutes=1))
    ended = await _me(client, old)
    assert ended.status_code == 401 and "grace period ended" in ended.json()["detail"]
    assert (await _me(client, new)).status_code == 200

    # Rotating within a grace period ends the older secret at once (never three live secrets); grace 0 ends the
    # replaced one at once too.
    second = (await client.post(f"/api/v1/api-keys/{key['key_id']}/rotate", headers=ADMIN)).json()["api_key"]
    third = await client.post(f"/api/v1/api-keys/{key['key_id']}/rotate", json={"grace_seconds": 0}, headers=ADMIN)
    assert third.status_code == 200 and third.json()["previous_secret_expires_at"] is None
    statuses = [(await _me(client, s)).status_code for s in (new, second, third.json()["api_key"])]
    assert statuses == [401, 401, 200]
    too_long = await client.post(
        f"/api/v1/api-keys/{key['key_id']}/rotate", json={"grace_seconds": 8 * 24 * 3600}, headers=ADMIN
    )
    assert too_long.status_code == 422 and "grace_seconds" in too_long.text

    assert (await client.delete(f"/api/v1/api-keys/{key['key_id']}", headers=ADMIN)).status_code == 200
    assert (await client.post(f"/api/v1/api-keys/{key['key_id']}/rotate", headers=ADMIN)).status_code == 409


# (method, path, passes the edge): a key with supervisor's role and scopes risk:read and goals:write.
SCOPED_CALLS = [
    ("GET", "/api/v1/risk/alerts", True),
    ("POST", "/api/v1/risk/alerts", False),
    ("GET", "/api/v1/goals/targets", True),  # write includes read
    ("PATCH", "/api/v1/goals/targets/t-1", True),
    ("DELETE", "/api/v1/goals/plans/p-1", True),
    ("GET", "/api/v1/complaints/complaints", False),
    ("PUT", "/api/v1/scoring/accounts/a-1", False),
    ("GET", "/api/v1/accounts", False),  # the registry is scoring's
    ("GET", "/api/v1/portfolio", False),  # the composed views are a family of their own
]


async def test_scopes_are_enforced_by_the_gateway_on_proxied_routes_and_its_own(gateway):
    client, _ = gateway
    key = await _create(client, roles=["supervisor"], scopes=["risk:read", "goals:write"])
    assert key["scopes"] == ["goals:write", "risk:read"]
    headers = _key(key["api_key"])
    for method, path, passes in SCOPED_CALLS:
        response = await client.request(method, path, headers=headers, json={} if method != "GET" else None)
        if passes:
            assert response.status_code == 503, (method, path, response.status_code)  # forwarded: service down
        else:
            needed = f"{path.split('/')[3] if path.split('/')[3] != 'accounts' else 'scoring'}:"
            assert response.status_code == 403, (method, path, response.status_code)
            assert response.json()["missing_scope"].startswith(("views:", needed)), response.json()
            assert response.json()["missing_scope"] in response.json()["detail"]
    assert (await _me(client, key["api_key"])).status_code == 200, "who am I needs no scope"

    admin_key = await _create(client, roles=["admin"], scopes=["identity:read"])
    admin_headers = _key(admin_key["api_key"])
    assert (await client.get("/api/v1/api-keys", headers=admin_headers)).status_code == 200
    refused = await client.post("/api/v1/api-keys", json={"name": "y", "scopes": ["views:read"]}, headers=admin_headers)
    assert refused.status_code == 403 and refused.json()["missing_scope"] == "identity:write"
    rotate = await client.post(f"/api/v1/api-keys/{admin_key['key_id']}/rotate", headers=admin_headers)
    assert rotate.status_code == 403 and "identity:write" in rotate.json()["detail"]


async def test_a_key_is_a_viewer_unless_roles_are_given_and_service_only_when_asked_for(gateway):
    client, _ = gateway
    default = await _create(client, scopes=["complaints:write"])
    assert default["roles"] == ["viewer"]
    me = (await _me(client, default["api_key"])).json()
    assert me["roles"] == ["viewer"] and me["kind"] == "service"
    write = await client.post("/api/v1/complaints/complaints", json={}, headers=_key(default["api_key"]))
    assert write.status_code == 403, "a viewer key writes nothing whatever its scopes"
    explicit = await _create(client, roles=["service"], scopes=["complaints:write"])
    assert explicit["roles"] == ["service"]
    for body, field in [({"name": "x"}, "scopes"), ({"name": "x", "scopes": ["payroll:read"]}, "scopes")]:
        response = await client.post("/api/v1/api-keys", json=body, headers=ADMIN)
        assert response.status_code == 422 and field in response.text, response.text
