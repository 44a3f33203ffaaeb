"""Instants in requests: every datetime field of every create/update route of goals must read back as the same
instant whatever offset it was sent with (+08:00, -05:00, Z, +05:30).

Goals takes no datetime in any request today: what it is given are business dates (sale dates, due dates,
periods, FX validity), never instants. ``DATETIME_FIELDS`` is therefore empty, and the guard below walks the goals
OpenAPI and fails the moment a request gains a ``date-time`` field without an entry (and a case) here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from services.goals.app import create_app
from services.goals.config import GoalsSettings
from tests.goals.helpers import SUPERVISOR, create_target, goals_app, register_account, register_team
from tests.support import running, service_settings

ZONES = ["+08:00", "-05:00", "Z", "+05:30"]


@dataclass(frozen=True)
class Case:
    """How to send one datetime field and read back what was stored."""

    method: str
    path: str  # as in the OpenAPI document, e.g. /goals/targets/{target_id}
    field: str  # dotted path in the body, or ``query:<name>``
    send: Callable[[httpx.AsyncClient, Any, str], Awaitable[httpx.Response]]  # (client, app, value) → response
    read_back: Callable[[httpx.Response], str]


# Every request datetime of goals, with how to send and read it: none today (see the module docstring).
DATETIME_FIELDS: list[Case] = []


def _date_time_fields(
    schema: dict[str, Any], components: dict[str, Any], prefix: str = "", seen: frozenset[str] = frozenset()
) -> Iterator[str]:
    """Dotted paths of every ``format: date-time`` inside a JSON schema (through refs, unions, items, maps)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return
        yield from _date_time_fields(components[name], components, prefix, seen | {name})
        return
    if schema.get("format") == "date-time":
        yield prefix or "<body>"
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from _date_time_fields(option, components, prefix, seen)
    for name, sub in schema.get("properties", {}).items():
        yield from _date_time_fields(sub, components, f"{prefix}.{name}" if prefix else name, seen)
    if isinstance(schema.get("items"), dict):
        yield from _date_time_fields(schema["items"], components, f"{prefix}.<n>" if prefix else "<n>", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _date_time_fields(
            schema["additionalProperties"], components, f"{prefix}.<key>" if prefix else "<key>", seen
        )


def request_datetimes(openapi: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(method, path, field) of every datetime a goals request may carry, in its body or its query."""
    components = openapi.get("components", {}).get("schemas", {})
    found: set[tuple[str, str, str]] = set()
    for path, operations in openapi["paths"].items():
        if "/admin/outbox/" in path:  # the shared admin routes: tests/platform/test_admin_routes.py
            continue
        if path.endswith("/audit"):  # the shared audit log's from/to: tests/platform/test_audit_log.py
            continue
        if not path.startswith("/goals/"):
            continue  # the platform routes (health, dead letters) are the platform's
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                for field in _date_time_fields(parameter.get("schema", {}), components):
                    suffix = "" if field == "<body>" else f".{field}"
                    found.add((method.upper(), path, f"{parameter['in']}:{parameter['name']}{suffix}"))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                for field in _date_time_fields(media.get("schema", {}), components):
                    found.add((method.upper(), path, field))
    return found


def test_the_guard_finds_a_datetime_however_deep_it_is_declared():
    components = {"Inner": {"properties": {"when": {"anyOf": [{"type": "string", "format": "date-time"}]}}}}
    schema = {"properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Inner"}}}}
    since = {"in": "query", "name": "since", "schema": {"anyOf": [{"format": "date-time"}, {"type": "null"}]}}
    operation = {"parameters": [since], "requestBody": {"content": {"application/json": {"schema": schema}}}}
    openapi = {"paths": {"/goals/x": {"post": operation}}, "components": {"schemas": components}}
    assert request_datetimes(openapi) == {("POST", "/goals/x", "items.<n>.when"), ("POST", "/goals/x", "query:since")}


def test_every_request_datetime_of_goals_is_in_the_table():
    settings = service_settings(GoalsSettings, database_url="sqlite+aiosqlite:///:memory:", nats_url=None)
    found = request_datetimes(create_app(settings).openapi())
    assert found == {(c.method, c.path, c.field) for c in DATETIME_FIELDS}, (
        "a goals request takes a datetime: make it shared.api.Instant and add a Case to DATETIME_FIELDS"
    )


# Goals takes no request datetimes today (sale dates, due dates and periods are dates), so there is no round trip
# to run: the guard above fails the day one appears; then add its Case and a round-trip test over ZONES here, as
# tests/complaints/test_instants.py does (an empty parametrisation would only be reported as skipped).


async def test_instants_in_responses_carry_their_offset(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="时刻客户")
        target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="9")
        for name in ("created_at", "updated_at"):
            assert datetime.fromisoformat(target[name]).utcoffset() is not None, target[name]
        approved = (await client.post(f"/goals/targets/{target['id']}/approve", headers=SUPERVISOR)).json()
        assert datetime.fromisoformat(approved["approved_at"]).utcoffset() is not None
        board = (await client.get("/goals/views/portfolio", headers=SUPERVISOR)).json()
        [at_risk] = board["at_risk_targets"]  # nothing sold by mid-year
        assert datetime.fromisoformat(at_risk["at_risk_since"]).utcoffset() is not None
