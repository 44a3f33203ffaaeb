"""A write the gateway sent but never heard back about is answered 504 "outcome unknown" (never retried); one that
could not be sent stays 503; the proxy's timeouts must outlast the services' own lock budget."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import ValidationError

from gateway.app import create_app
from gateway.config import GatewaySettings
from shared.nats_server import free_port
from tests.gateway.platform import offline_gateway_settings, seed_users
from tests.support import auth, running, service_settings, wait_until

SLOW_SECONDS = 5.0  # how long the slow service takes over a write: far past the gateway's timeout below


class SlowService:
    """A tiny ASGI service: reads answer at once, writes are received (counted) and answered only after a while."""

    def __init__(self) -> None:
        self.writes_received = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        if scope["method"] != "GET":
            self.writes_received += 1
            await asyncio.sleep(SLOW_SECONDS)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app under uvicorn on a free port (a real socket: the gateway's timeouts are real)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    config.timeout_graceful_shutdown = 1
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: asyncio.sleep(0, server.started), message="the slow service to listen")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def dropping_connections() -> AsyncIterator[str]:
    """A server that reads a request and closes the connection without answering (a crash after receipt)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def _gateway(tmp_path: Path, **overrides: Any) -> Any:
    # A service lock budget of 0.2 s allows a 1.5 s upstream timeout (budget + 1 s margin), keeping the test short.
    return create_app(offline_gateway_settings(tmp_path, service_lock_budget_seconds=0.2, **overrides))


async def test_a_write_sent_but_not_answered_in_time_is_504_outcome_unknown_and_never_retried(tmp_path: Path):
    slow = SlowService()
    async with serving(slow) as url:
        app = _gateway(tmp_path, risk_url=url, upstream_timeouts={"risk": 1.5})
        async with running(app, headers=auth("admin", user_id="root")) as client:
            await seed_users(app, {"root": ["admin"]})
            response = await client.post(
                "/api/v1/risk/action-items", json={"title": "x"}, headers={"X-Request-ID": "req-unknown-1"}
            )
            assert response.status_code == 504
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert body["type"].endswith("/problems/outcome-unknown")
            assert body["request_id"] == "req-unknown-1" and body["outcome"] == "unknown"
            assert "unknown" in body["detail"] and "Idempotency-Key" in body["detail"] and "If-Match" in body["detail"]
            assert slow.writes_received == 1  # sent once: a write is never repeated by the gateway
            # A read of the same service still answers (the service is slow at writing, not gone).
            assert (await client.get("/api/v1/risk/action-items")).status_code == 200


async def test_a_connection_dropped_after_sending_a_write_is_504_and_one_never_sent_is_503(tmp_path: Path):
    async with dropping_connections() as url:
        app = _gateway(tmp_path, goals_url=url)  # complaints stays on a dead port: nothing can be sent there
        async with running(app, headers=auth("admin", user_id="root")) as client:
            await seed_users(app, {"root": ["admin"]})
            dropped = await client.patch("/api/v1/goals/targets/t-1", json={"amount": "1.00"})
            assert dropped.status_code == 504 and dropped.json()["type"].endswith("/outcome-unknown")
            refused = await client.post("/api/v1/complaints/complaints", json={"title": "x"})
            assert refused.status_code == 503 and "retry-after" in refused.headers
            assert refused.json()["type"].endswith("/service-unavailable")


@pytest.mark.parametrize(
    ("overrides", "accepted"),
    [
        ({}, True),  # the defaults: 10 s against the services' 5 s lock budget
        ({"upstream_timeout_seconds": 5.5}, False),
        ({"upstream_timeouts": {"risk": 3}}, False),
        ({"upstream_timeouts": {"risk": 6}}, True),
        ({"service_lock_budget_seconds": 1, "upstream_timeouts": {"risk": 3}}, True),
    ],
)
def test_upstream_timeouts_must_outlast_the_services_lock_budget(overrides: dict[str, Any], accepted: bool):
    def build() -> GatewaySettings:
        return service_settings(
            GatewaySettings, database_url="sqlite+aiosqlite:///:memory:", nats_url=None, **overrides
        )

    if accepted:
        settings = build()
        assert settings.timeout_for("risk") >= settings.service_lock_budget_seconds + 1
    else:
        with pytest.raises(ValidationError, match="lock budget"):
            build()
