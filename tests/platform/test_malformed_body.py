"""A body that is not JSON at all is a 422 naming the body (and where parsing stopped), never a field "0": on every
operation with a JSON body of every service and of the gateway, table-driven over each app's OpenAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from gateway.app import create_app as create_gateway
from shared.errors import PROBLEM_JSON, install_error_handlers
from tests.gateway.platform import offline_gateway_settings, seed_users
from tests.platform.test_query_guard import ADMIN, SERVICES, operations, service_app
from tests.support import running

BROKEN = b'{"name": "\xe5\x8d\x8e\xe4\xb8\x9c", '  # cut off after a field (and a Chinese value)


def json_bodied(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method, path)
        for method, path, operation in operations(document)
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def assert_names_the_body(response: httpx.Response, where: str) -> None:
    assert response.status_code == 422, (where, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith(PROBLEM_JSON), where
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == ["body"], (where, problem)
    error = problem["errors"][0]
    assert error["type"] == "json_invalid" and "not valid JSON" in error["message"], (where, problem)
    assert f"at character {len(BROKEN.decode())}" in error["message"], (where, problem)
    assert "body" in problem["detail"] and ".0" not in problem["detail"], (where, problem)


@pytest.mark.parametrize("name", list(SERVICES))
async def test_every_json_body_of_every_service_refuses_broken_json_naming_the_body(name, sqlite_database):
    app = service_app(name, await sqlite_database(name))
    async with running(app, headers=ADMIN, reads_etag_first=False) as client:
        document = (await client.get("/openapi.json")).json()
        routes = json_bodied(document)
        for method, path in routes:
            response = await client.request(method, path, content=BROKEN, headers={"Content-Type": "application/json"})
            assert_names_the_body(response, f"{method.upper()} {path}")
    assert len(routes) >= 5, routes  # the document lists the service's writes


async def test_the_gateways_own_json_bodies_refuse_broken_json_naming_the_body(tmp_path: Path):
    app = create_gateway(offline_gateway_settings(tmp_path))
    async with running(app, headers=ADMIN, reads_etag_first=False) as client:
        await seed_users(app, {"root": ["admin"]})
        document = (await client.get("/openapi.json")).json()
        routes = json_bodied(document)
        for method, path in routes:
            response = await client.request(method, path, content=BROKEN, headers={"Content-Type": "application/json"})
            assert_names_the_body(response, f"{method.upper()} {path}")
    assert any(path == "/api/v1/users" for _, path in routes), routes


class _Thing(BaseModel):
    name: str = Field(min_length=1)
    amount: int


async def test_a_validation_problem_names_each_field_once_with_what_is_wrong():
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things")
    async def create(body: _Thing) -> dict[str, str]:
        return {"name": body.name}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.post("/things", json={"name": "", "amount": "十"})
    problem = answer.json()
    assert answer.status_code == 422 and [e["field"] for e in problem["errors"]] == ["name", "amount"], problem
    detail = problem["detail"]
    assert detail.startswith("Invalid input in name: String should have at least 1 character; amount: "), detail
    assert detail.count("name") == 1 and detail.count("amount") == 1, detail
