"""Instants: every datetime a risk route accepts keeps the instant it was given, whatever the offset, and a time
without an offset is a 422 naming the field. The table lists every such field; a guard walks the OpenAPI
request bodies so that a new datetime field cannot be added without a row here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.risk.support import PEOPLE, add_account, make_app
from tests.support import auth, register_users, running

RISK = auth("risk_officer", user_id="risk-chen")
INSTANT = datetime(2026, 3, 14, 2, 15, 30, tzinfo=UTC)  # before the frozen clock's now (2026-03-15 09:00Z)
OFFSETS = {
    "+08:00": timedelta(hours=8),
    "-05:00": timedelta(hours=-5),
    "Z": timedelta(0),
    "+05:30": timedelta(hours=5, minutes=30),
}


def _as(offset: timedelta) -> str:
    text = INSTANT.astimezone(timezone(offset)).isoformat()
    return text.replace("+00:00", "Z")


@dataclass(frozen=True)
class Field:
    """A datetime field of a route: how to send a value through it and read back what was stored."""

    method: str
    path: str  # as in the OpenAPI document
    field: str  # dotted, inside the request body
    send: Callable[[httpx.AsyncClient, dict[str, str], str, int], Awaitable[httpx.Response]]
    read_back: Callable[[httpx.AsyncClient, dict[str, str], httpx.Response], Awaitable[str]]


async def _world(client: httpx.AsyncClient, app: Any) -> dict[str, str]:
    await register_users(app, PEOPLE)
    account_id = await add_account(app, "时刻客户", owner_id="am-li")
    signal = await client.post(
        f"/risk/accounts/{account_id}/signals", json={"value": 4, "title": "seed", "reference": "seed"}, headers=RISK
    )
    assert signal.status_code == 201, signal.text
    [alert] = (await client.get(f"/risk/alerts?account_id={account_id}", headers=RISK)).json()["items"]
    detail = (await client.get(f"/risk/alerts/{alert['id']}", headers=RISK)).json()
    return {"account_id": account_id, "alert_id": alert["id"], "item_id": detail["action_items"][0]["id"]}


async def _send_signal(client, world, value, n):
    body = {"value": 2, "title": f"observed {n}", "reference": f"r-{n}", "observed_at": value}
    return await client.post(f"/risk/accounts/{world['account_id']}/signals", json=body, headers=RISK)


async def _signal_back(client, world, response):
    signals = (await client.get(f"/risk/accounts/{world['account_id']}/signals", headers=RISK)).json()["items"]
    return next(s["observed_at"] for s in signals if s["id"] == response.json()["id"])


async def _send_due(client, world, value, n):
    return await client.patch(f"/risk/action-items/{world['item_id']}", json={"due_at": value}, headers=RISK)


async def _due_back(client, world, response):
    items = (await client.get(f"/risk/alerts/{world['alert_id']}", headers=RISK)).json()["action_items"]
    return next(i["due_at"] for i in items if i["id"] == world["item_id"])


FIELDS = [
    Field("post", "/risk/accounts/{account_id}/signals", "observed_at", _send_signal, _signal_back),
    Field("patch", "/risk/action-items/{item_id}", "due_at", _send_due, _due_back),
]


@pytest.mark.parametrize("case", FIELDS, ids=lambda f: f"{f.method} {f.path} {f.field}")
async def test_every_datetime_field_keeps_the_instant_in_any_offset_and_refuses_a_naive_time(sqlite_database, case):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        world = await _world(client, app)
        for n, (name, offset) in enumerate(OFFSETS.items()):
            response = await case.send(client, world, _as(offset), n)
            assert response.status_code in (200, 201), (name, response.text)
            stored = await case.read_back(client, world, response)
            assert datetime.fromisoformat(stored) == INSTANT, (name, stored)
            assert stored.endswith("Z")  # served in UTC, RFC 3339
        naive = await case.send(client, world, "2026-03-14T10:15:30", 99)
        assert naive.status_code == 422
        assert naive.json()["errors"][0]["field"] == case.field


def _datetime_fields(spec: dict[str, Any], schema: dict[str, Any], prefix: str, seen: frozenset[str]) -> set[str]:
    """Dotted names of the date-time properties of a schema (following $ref, unions and arrays)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return set()
        return _datetime_fields(spec, spec["components"]["schemas"][name], prefix, seen | {name})
    if schema.get("format") == "date-time":
        return {prefix}
    found: set[str] = set()
    for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        found |= _datetime_fields(spec, option, prefix, seen)
    if "items" in schema:
        found |= _datetime_fields(spec, schema["items"], f"{prefix}.*" if prefix else "*", seen)
    for key, sub in schema.get("properties", {}).items():
        found |= _datetime_fields(spec, sub, f"{prefix}.{key}" if prefix else key, seen)
    if isinstance(schema.get("additionalProperties"), dict):
        found |= _datetime_fields(spec, schema["additionalProperties"], f"{prefix}.*" if prefix else "*", seen)
    return found


async def test_every_datetime_field_of_every_request_body_is_in_the_table(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        spec = (await client.get("/openapi.json")).json()
    in_bodies = set()
    for path, operations in spec["paths"].items():
        if "/admin/outbox/" in path:  # the shared admin routes: tests/platform/test_admin_routes.py
            continue
        for method, operation in operations.items():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                for field in _datetime_fields(spec, content.get("schema", {}), "", frozenset()):
                    in_bodies.add((method, path, field))
    assert in_bodies == {(f.method, f.path, f.field) for f in FIELDS}
