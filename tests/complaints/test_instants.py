"""Instants: every datetime a complaints request carries is read back as the same instant whatever offset it was
sent in, a time without an offset is a 422 naming the field, and business dates are the company zone's.

``DATETIME_FIELDS`` lists every request-body date-time property of the complaints API; a guard walks the app's
OpenAPI so that a new one fails here until it is covered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.complaints.improvement.analytics import ComplaintFacts, compute_analytics
from shared.clock import FrozenClock
from tests.complaints.helpers import (
    MONDAY_9AM_BEIJING,
    SUPERVISOR,
    make_app,
    open_complaint,
    parse_time,
    register_account,
)
from tests.support import running

OFFSETS = {
    "+08:00": timezone(timedelta(hours=8)),
    "-05:00": timezone(timedelta(hours=-5)),
    "Z": UTC,
    "+05:30": timezone(timedelta(hours=5, minutes=30)),
}


def rfc3339(moment: datetime, offset: str) -> str:
    """The instant written in another offset (``Z`` for UTC)."""
    text = moment.astimezone(OFFSETS[offset]).isoformat()
    return text.replace("+00:00", "Z") if offset == "Z" else text


# Sends one datetime value through a route and returns what the API gives back for that field.
Roundtrip = Callable[[httpx.AsyncClient, FastAPI, str], Awaitable[tuple[int, Any, str | None]]]


@dataclass(frozen=True)
class DatetimeField:
    """A request-body date-time property, how to send it, and the instant the tests send."""

    method: str
    path: str
    field: str
    send: Roundtrip
    instant: datetime


async def _complaint(client: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    return await open_complaint(client, await register_account(app), severity="medium")


async def _received_at(client: httpx.AsyncClient, app: FastAPI, value: str) -> tuple[int, Any, str | None]:
    account_id = await register_account(app)
    body = {"account_id": account_id, "title": "t", "description": "d", "category": "other", "received_at": value}
    response = await client.post("/complaints", json=body)
    if response.status_code != 201:
        return response.status_code, response.json(), None
    detail = (await client.get(f"/complaints/{response.json()['id']}")).json()
    return 201, response.json(), detail["opened_at"]


async def _task_due_at(client: httpx.AsyncClient, app: FastAPI, value: str) -> tuple[int, Any, str | None]:
    complaint = await _complaint(client, app)
    body = {"department": "quality", "title": "失效分析", "assignee_id": "qa-sun", "due_at": value}
    response = await client.post(f"/complaints/{complaint['id']}/tasks", json=body)
    if response.status_code != 201:
        return response.status_code, response.json(), None
    detail = (await client.get(f"/complaints/{complaint['id']}")).json()
    return 201, response.json(), detail["tasks"][0]["due_at"]


async def _action_due_at(client: httpx.AsyncClient, app: FastAPI, value: str) -> tuple[int, Any, str | None]:
    complaint = await _complaint(client, app)
    body = {"kind": "preventive", "description": "来料抽检", "owner_id": "qa-sun", "due_at": value}
    response = await client.post(f"/complaints/{complaint['id']}/actions", json=body)
    if response.status_code != 201:
        return response.status_code, response.json(), None
    detail = (await client.get(f"/complaints/{complaint['id']}")).json()
    return 201, response.json(), detail["actions"][0]["due_at"]


async def _preview_received_at(client: httpx.AsyncClient, app: FastAPI, value: str) -> tuple[int, Any, str | None]:
    response = await client.post("/complaints/sla-preview", json={"tier": "key", "received_at": value})
    body = response.json()
    return response.status_code, body, body.get("received_at") if response.status_code == 200 else None


DATETIME_FIELDS = [
    DatetimeField("post", "/complaints", "received_at", _received_at, MONDAY_9AM_BEIJING - timedelta(hours=3)),
    DatetimeField(
        "post", "/complaints/{complaint_id}/tasks", "due_at", _task_due_at, MONDAY_9AM_BEIJING + timedelta(hours=30)
    ),
    DatetimeField(
        "post", "/complaints/{complaint_id}/actions", "due_at", _action_due_at, MONDAY_9AM_BEIJING + timedelta(days=20)
    ),
    DatetimeField(
        "post", "/complaints/sla-preview", "received_at", _preview_received_at, datetime(2026, 10, 1, 4, 17, tzinfo=UTC)
    ),
]


@pytest.mark.parametrize("offset", list(OFFSETS))
@pytest.mark.parametrize("spec", DATETIME_FIELDS, ids=lambda s: f"{s.method} {s.path} {s.field}")
async def test_a_time_in_any_offset_reads_back_as_the_same_instant(sqlite_database, spec, offset):
    app = make_app(await sqlite_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        status, created, read_back = await spec.send(client, app, rfc3339(spec.instant, offset))
    assert status in (200, 201), created
    assert read_back is not None and parse_time(read_back) == spec.instant
    assert parse_time(created[spec.field] if spec.field in created else read_back) == spec.instant


@pytest.mark.parametrize("spec", DATETIME_FIELDS, ids=lambda s: f"{s.method} {s.path} {s.field}")
async def test_a_time_without_an_offset_is_a_422_naming_the_field(sqlite_database, spec):
    app = make_app(await sqlite_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        naive = spec.instant.astimezone(UTC).replace(tzinfo=None).isoformat()
        status, body, _ = await spec.send(client, app, naive)
    assert status == 422
    assert [e["field"] for e in body["errors"]] == [spec.field]


def _date_time_properties(schema: dict[str, Any], components: dict[str, Any], seen: set[str]) -> set[str]:
    """Dotted names of the date-time properties of a request schema (following $ref, arrays, anyOf)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return set()
        return _date_time_properties(components[name], components, seen | {name})
    found: set[str] = set()
    if schema.get("format") == "date-time":
        found.add("")
    for option in schema.get("anyOf", []) + schema.get("allOf", []) + schema.get("oneOf", []):
        found |= _date_time_properties(option, components, seen)
    if "items" in schema:
        found |= {f"[].{p}".rstrip(".") for p in _date_time_properties(schema["items"], components, seen)}
    for prop, sub in schema.get("properties", {}).items():
        found |= {f"{prop}.{p}".rstrip(".") for p in _date_time_properties(sub, components, seen)}
    return found


def test_every_request_date_time_field_of_the_openapi_is_in_the_table():
    app = make_app("sqlite+aiosqlite:///:memory:", FrozenClock(MONDAY_9AM_BEIJING))
    document = app.openapi()
    components = document.get("components", {}).get("schemas", {})
    found = set()
    for path, operations in document["paths"].items():
        if path.startswith("/complaints/admin/outbox/"):  # shared admin routes: tests/platform/test_admin_routes.py
            continue
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                for prop in _date_time_properties(media.get("schema", {}), components, set()):
                    found.add((method, path, prop))
    covered = {(s.method, s.path, s.field) for s in DATETIME_FIELDS}
    assert found == covered, f"date-time request fields without a zone round-trip test: {found - covered}"


def test_every_date_time_query_parameter_refuses_a_naive_time_too():
    app = make_app("sqlite+aiosqlite:///:memory:", FrozenClock(MONDAY_9AM_BEIJING))
    query_params = {
        (method, path, p["name"])
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
        for p in operation.get("parameters", [])
        if p["in"] == "query" and "date-time" in str(p.get("schema"))
    }
    assert query_params == {
        ("get", "/complaints/analytics", "from"),
        ("get", "/complaints/analytics", "to"),
        ("get", "/complaints/analytics/export.csv", "from"),
        ("get", "/complaints/analytics/export.csv", "to"),
        ("get", "/complaints/analytics/complaints.csv", "from"),
        ("get", "/complaints/analytics/complaints.csv", "to"),
        ("get", "/complaints/analytics/complaints.xlsx", "from"),
        ("get", "/complaints/analytics/complaints.xlsx", "to"),
        ("get", "/complaints/sla-preview", "received_at"),
        ("get", "/complaints/audit", "from"),  # shared.api.Instant: tests/platform/test_audit_log.py
        ("get", "/complaints/audit", "to"),
    }


@pytest.mark.parametrize(
    "path",
    [
        "/complaints/analytics",
        "/complaints/analytics/export.csv",
        "/complaints/analytics/complaints.csv",
        "/complaints/analytics/complaints.xlsx",
    ],
)
async def test_analytics_periods_need_offsets_and_an_order(sqlite_database, path):
    app = make_app(await sqlite_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        naive = await client.get(path, params={"from": "2026-03-01T00:00:00"})
        backwards = await client.get(path, params={"from": "2026-04-01T00:00:00+08:00", "to": "2026-03-01T00:00:00Z"})
        fine = await client.get(path, params={"from": "2026-03-01T00:00:00+08:00", "to": "2026-04-01T00:00:00+08:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "from"
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "from"
    assert fine.status_code == 200


@pytest.mark.parametrize(
    ("opened_at", "month"),
    [
        # 00:30 on 1 April in Shanghai is 31 March in UTC: the complaint belongs to April.
        (datetime(2026, 3, 31, 16, 30, tzinfo=UTC), "2026-04"),
        # 23:30 on 31 March in Shanghai is the same UTC date: March.
        (datetime(2026, 3, 31, 15, 30, tzinfo=UTC), "2026-03"),
    ],
)
def test_analytics_months_are_business_months_in_the_company_zone(opened_at, month):
    facts = [
        ComplaintFacts(
            complaint_id="c",
            account_id="a",
            account_name="宁德时代",
            owner_id="am-li",
            category="other",
            severity="low",
            opened_at=opened_at,
        )
    ]
    report = compute_analytics(facts)
    assert report["by_period"] == {month: 1}
    assert report["trend"] == [{"month": month, "opened": 1, "resolved": 0, "closed": 0}]


@pytest.mark.parametrize(
    ("clock", "month"),
    [
        (datetime(2026, 3, 31, 16, 30, tzinfo=UTC), "2026-04"),  # 00:30 Shanghai, 1 April
        (datetime(2026, 3, 31, 15, 30, tzinfo=UTC), "2026-03"),  # 23:30 Shanghai, 31 March
    ],
)
async def test_a_complaint_logged_at_half_past_midnight_counts_in_the_local_month(sqlite_database, clock, month):
    app = make_app(await sqlite_database("complaints"), FrozenClock(clock))
    async with running(app, headers=SUPERVISOR) as client:
        await open_complaint(client, await register_account(app))
        report = (await client.get("/complaints/analytics")).json()
    assert report["by_period"] == {month: 1}
