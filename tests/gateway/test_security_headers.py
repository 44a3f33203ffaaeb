"""Every kind of response carries the security headers; /metrics needs the scraper's token or an admin; HSTS is
sent behind TLS (a setting, or X-Forwarded-Proto from a trusted proxy only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from services.risk.app import create_app as create_risk
from services.risk.config import RiskSettings
from tests.gateway.platform import offline_gateway_settings, seed_users
from tests.support import auth, running, service_settings

METRICS_TOKEN = "scrape-token-" + "m" * 24
ADMIN = auth("admin", user_id="root")
VIEWER = auth("viewer", user_id="v-1")

# (what, method, path, request kwargs, expected status, Cache-Control expected)
RESPONSES: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    ("json", "GET", "/api/v1/me", {"headers": VIEWER}, 200, "no-store"),
    ("problem (401)", "GET", "/api/v1/me", {}, 401, "no-store"),
    ("problem (405)", "DELETE", "/api/v1/me", {}, 405, "no-store"),
    ("problem (path guard)", "GET", "/api/v1/risk/a%2Fb", {}, 404, "no-store"),
    ("problem (body limit)", "POST", "/api/v1/users", {"content": b"x" * 2000, "headers": ADMIN}, 413, "no-store"),
    ("problem (503)", "GET", "/api/v1/risk/action-items", {"headers": ADMIN}, 503, "no-store"),
    (
        "token",
        "POST",
        "/api/v1/auth/token",
        {"data": {"username": "root", "password": "seeded-pw-2026"}},
        200,
        "no-store",
    ),
    ("html docs", "GET", "/docs", {}, 200, "no-store"),
    ("metrics", "GET", "/metrics", {"headers": {"Authorization": f"Bearer {METRICS_TOKEN}"}}, 200, "no-store"),
    ("docs asset", "GET", "/docs/assets/swagger-ui.css", {}, 200, "public, max-age=86400"),
]


@pytest.fixture
async def gateway(tmp_path: Path):
    app = create_app(offline_gateway_settings(tmp_path, max_body_bytes=1000, metrics_token=METRICS_TOKEN))
    async with running(app) as client:
        await seed_users(app, {"root": ["admin"], "v-1": ["viewer"]})
        yield client


async def test_every_kind_of_response_carries_the_security_headers(gateway):
    for what, method, path, kwargs, status, cache_control in RESPONSES:
        response = await gateway.request(method, path, **kwargs)
        assert response.status_code == status, (what, response.status_code, response.text[:200])
        assert response.headers["x-content-type-options"] == "nosniff", what
        assert response.headers["cache-control"] == cache_control, what
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], what
        assert response.headers["x-request-id"], what
        assert "strict-transport-security" not in response.headers, what  # plain HTTP, no trusted proxy


async def test_metrics_need_the_scrapers_token_or_an_admin(gateway):
    assert (await gateway.get("/metrics")).status_code == 401
    assert (await gateway.get("/metrics", headers={"Authorization": "Bearer not-the-token"})).status_code == 401
    assert (await gateway.get("/metrics", headers=VIEWER)).status_code == 403
    for credential in ({"Authorization": f"Bearer {METRICS_TOKEN}"}, ADMIN):
        response = await gateway.get("/metrics", headers=credential)
        assert response.status_code == 200 and "kam_http_requests_total" in response.text


async def test_a_services_metrics_are_guarded_the_same_way():
    settings = service_settings(RiskSettings, database_url="sqlite+aiosqlite:///:memory:", nats_url=None)
    async with running(create_risk(settings)) as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers=auth("risk_officer"))).status_code == 403
        assert (await client.get("/metrics", headers=auth("admin"))).status_code == 200


@pytest.mark.parametrize(
    ("settings", "client_forwarded_https", "expected"),
    [
        ({}, True, False),  # X-Forwarded-Proto from an untrusted client is ignored
        ({"forwarded_proto_trusted_from": ["127.0.0.1/32"]}, True, True),
        ({"forwarded_proto_trusted_from": ["127.0.0.1/32"]}, False, False),
        ({"forwarded_proto_trusted_from": ["10.0.0.0/8"]}, True, False),
        ({"hsts_enabled": True}, False, True),
    ],
)
async def test_hsts_only_behind_tls(
    tmp_path: Path, settings: dict[str, Any], client_forwarded_https: bool, expected: bool
):
    app = create_app(offline_gateway_settings(tmp_path, **settings))
    async with running(app) as client:
        client._transport = type(client._transport)(app=app, client=("127.0.0.1", 50000))  # the proxy's address
        headers = {"X-Forwarded-Proto": "https"} if client_forwarded_https else {}
        response = await client.get("/healthz", headers=headers)
        assert response.status_code == 200
        assert ("strict-transport-security" in response.headers) is expected
        if expected:
            assert response.headers["strict-transport-security"].startswith("max-age=31536000")
