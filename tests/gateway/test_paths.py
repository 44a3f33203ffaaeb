"""Paths are checked before routing: control characters, dot or empty segments and encoded slashes never reach
a route or a service (and never answer 500)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from gateway.edge import path_refusal
from tests.gateway.platform import offline_gateway_settings
from tests.support import auth, running

ODD = [
    ("/api/v1/accounts/%14", 400),
    ("/api/v1/accounts/%00", 400),
    ("/api/v1/accounts/%0d%0aX-Injected:%201", 400),
    ("/api/v1/accounts/%2F..%2Fusers", 404),
    ("/api/v1/accounts/%2f", 404),
    ("/api/v1/accounts/..%5cusers", 404),
    ("/api/v1/accounts/../users", 404),
    ("/api/v1/./users", 404),
    ("/api/v1//users", 404),
]


async def _raw_get(app: Any, raw_path: str) -> tuple[int, dict[str, str], bytes]:
    """Send a GET with exactly this raw path (no client normalises it) straight into the ASGI app."""
    from urllib.parse import unquote

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *((k.lower().encode(), v.encode()) for k, v in auth("admin").items())],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body


@pytest.mark.parametrize(("raw_path", "status"), ODD)
async def test_an_odd_path_is_refused_before_routing_with_a_problem(tmp_path: Path, raw_path: str, status: int):
    app = create_app(offline_gateway_settings(tmp_path))
    async with running(app):
        code, headers, body = await _raw_get(app, raw_path)
    assert code == status, body
    assert headers["content-type"] == "application/problem+json"
    assert "x-injected" not in headers  # a CR LF in the path never becomes a header


def test_ordinary_paths_pass_the_guard():
    for path in (
        "/api/v1/accounts",
        "/api/v1/accounts/",
        "/api/v1/accounts/1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "/api/v1/accounts?q=%E5%8D%8E%E4%B8%BA",
        "/docs",
        "/api/v1/goals/imports",
    ):
        assert path_refusal(path.encode(), path.split("?")[0]) is None, path
