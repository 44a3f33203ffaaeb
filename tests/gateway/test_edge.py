"""Edge protection: body limit, rate limits, request ids, CORS, access logs without secrets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gateway.app import create_app
from tests.gateway.platform import offline_gateway_settings, seed_users
from tests.support import auth, running, token


async def test_oversized_body_gets_413_problem_before_reaching_anything(tmp_path: Path):
    app = create_app(offline_gateway_settings(tmp_path, max_body_bytes=1000))
    async with running(app, headers=auth("admin")) as client:
        await seed_users(app, {"u-admin": ["admin"]})
        big = {"user_id": "u-big", "name": "大" * 2000, "password": "long-enough-1", "roles": ["viewer"]}
        response = await client.post("/api/v1/users", json=big)
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert (await client.post("/api/v1/complaints/complaints", json=big)).status_code == 413
        small = {**big, "name": "小"}
        assert (await client.post("/api/v1/users", json=small)).status_code == 201


async def test_rate_limit_is_per_caller_and_answers_429_with_retry_after(tmp_path: Path):
    app = create_app(offline_gateway_settings(tmp_path, rate_limit_per_minute=60, rate_limit_burst=3))
    async with running(app) as client:
        await seed_users(app, {"v-1": ["viewer"], "v-2": ["viewer"]})
        first = auth("viewer", user_id="v-1")
        for _ in range(3):
            assert (await client.get("/api/v1/me", headers=first)).status_code == 200
        limited = await client.get("/api/v1/me", headers=first)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        assert limited.headers["content-type"] == "application/problem+json"
        assert (await client.get("/api/v1/me", headers=auth("viewer", user_id="v-2"))).status_code == 200


async def test_login_attempts_are_rate_limited_per_client(tmp_path: Path):
    app = create_app(offline_gateway_settings(tmp_path, login_rate_limit_per_minute=6))
    async with running(app) as client:
        statuses = [
            (await client.post("/api/v1/auth/token", data={"username": "x", "password": "guess"})).status_code
            for _ in range(7)
        ]
        assert statuses[:5] == [401] * 5 and statuses[-1] == 429


async def test_request_id_is_returned_and_a_new_one_made_when_absent(tmp_path: Path):
    app = create_app(offline_gateway_settings(tmp_path))
    async with running(app, headers=auth("viewer", user_id="v-1")) as client:
        await seed_users(app, {"v-1": ["viewer"]})
        echoed = await client.get("/api/v1/me", headers={"X-Request-ID": "req-abc-123"})
        assert echoed.headers["x-request-id"] == "req-abc-123"
        made = await client.get("/api/v1/me")
        assert len(made.headers["x-request-id"]) >= 16
        unavailable = await client.get("/api/v1/goals/views/portfolio", headers={"X-Request-ID": "req-xyz"})
        assert unavailable.status_code == 503 and unavailable.json()["request_id"] == "req-xyz"


async def test_cors_allows_only_configured_frontend_origins(tmp_path: Path):
    app = create_app(offline_gateway_settings(tmp_path, cors_origins=["https://console.example.cn"]))
    async with running(app) as client:
        preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "Authorization"}
        ok = await client.options("/api/v1/portfolio", headers={"Origin": "https://console.example.cn", **preflight})
        assert ok.headers["access-control-allow-origin"] == "https://console.example.cn"
        other = await client.options("/api/v1/portfolio", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers


async def test_access_log_holds_neither_tokens_passwords_nor_ids_from_the_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    app = create_app(offline_gateway_settings(tmp_path))
    secret_token = token("admin", user_id="root")
    async with running(app, headers={"Authorization": f"Bearer {secret_token}"}) as client:
        await seed_users(app, {"root": ["admin"]})
        created = await client.post(
            "/api/v1/users", json={"user_id": "li.si", "password": "pa55-word-secret", "roles": ["viewer"]}
        )
        assert created.status_code == 201
        with caplog.at_level(logging.INFO, logger="kam.access"):
            await client.post("/api/v1/auth/token", data={"username": "li.si", "password": "pa55-word-secret"})
            await client.get("/api/v1/users/li.si?email=li.si@example.cn")
    records = [r for r in caplog.records if r.name == "kam.access"]
    assert len(records) == 2
    logged = " ".join(str(r.__dict__) for r in records)
    for secret in (secret_token, "pa55-word-secret", "li.si", "example.cn"):
        assert secret not in logged
    assert "/api/v1/users/{user_id}" in logged


async def test_a_csv_import_larger_than_the_body_limit_streams_through_the_gateway(api, platform):
    """Bulk uploads have their own limit and are streamed to goals; other routes keep the 1 MiB limit."""
    account = platform.accounts["li"]
    header = "account_id,date,product_line,region,quantity,revenue,cost\n"
    lines = [f"{account},2026-0{1 + i % 9}-15,工业网关,华东,1,100.00,60.00\n" for i in range(20_000)]
    body = (header + "".join(lines)).encode()
    assert len(body) > 1_048_576
    headers = {**auth("supervisor", user_id="sup-wang"), "Content-Type": "text/csv"}
    response = await api.post(
        "/goals/imports", params={"batch_id": "gw-stream-1", "wait": "true"}, content=body, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 20_000
    assert response.json()["rejected"] == 0
    too_big = {"records": [{"note": "x" * 1_100_000}]}
    assert (await api.post("/goals/actuals", json=too_big, headers=headers)).status_code == 413
