"""Every instant a scoring request carries keeps its instant (issue 11, item 1).

Table-driven over every datetime field of every create/update route: each is sent in +08:00, -05:00, Z and +05:30
and read back as the same instant; a time without an offset is a 422 naming the field. A guard walks the app's
OpenAPI request bodies, so a new date-time field that is not in the table fails here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.scoring.support import NOW, account_payload, running_with_people, scoring_app
from tests.support import auth

SUP = auth("supervisor", user_id="sup-wang")
OFFSETS = {
    "+08:00": timezone(timedelta(hours=8)),
    "-05:00": timezone(timedelta(hours=-5)),
    "Z": UTC,
    "+05:30": timezone(timedelta(hours=5, minutes=30)),
}

Send = Callable[[httpx.AsyncClient, str, str], Awaitable[httpx.Response]]
ReadBack = Callable[[httpx.AsyncClient, str, httpx.Response], Awaitable[str]]


@dataclass(frozen=True)
class InstantField:
    """A datetime field of a request body: how to send a value in it, and where to read it back."""

    method: str
    path: str
    field: str
    send: Send
    read_back: ReadBack


async def _send_override(client: httpx.AsyncClient, account_id: str, value: str) -> httpx.Response:
    body = {"tier": "key", "reason": "集团战略", "expires_at": value}
    return await client.post(f"/accounts/{account_id}/tier-override", json=body, headers=SUP)


async def _read_override(client: httpx.AsyncClient, account_id: str, created: httpx.Response) -> str:
    audit = (await client.get(f"/accounts/{account_id}/tier-overrides", headers=SUP)).json()
    return next(o["expires_at"] for o in audit if o["id"] == created.json()["id"])


TABLE = [
    InstantField("post", "/accounts/{account_id}/tier-override", "expires_at", _send_override, _read_override),
]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _date_time_fields(spec: dict[str, Any], schema: dict[str, Any], path: str, seen: set[str]) -> Iterator[str]:
    """Dotted paths of every ``format: date-time`` inside a schema (through refs, arrays, unions)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return
        seen = seen | {name}
    schema = _resolve(spec, schema)
    if schema.get("format") == "date-time":
        yield path
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from _date_time_fields(spec, option, path, seen)
    if "items" in schema:
        yield from _date_time_fields(spec, schema["items"], f"{path}.N" if path else "N", seen)
    for name, prop in schema.get("properties", {}).items():
        yield from _date_time_fields(spec, prop, f"{path}.{name}" if path else name, seen)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _date_time_fields(spec, extra, f"{path}.*", seen)


def test_every_date_time_field_of_a_request_body_is_in_the_table():
    spec = scoring_app("sqlite+aiosqlite:///:memory:").openapi()
    found = set()
    for path, operations in spec["paths"].items():
        if "/admin/outbox/" in path:  # the shared admin routes: tests/platform/test_admin_routes.py
            continue
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                for field in _date_time_fields(spec, media.get("schema", {}), "", set()):
                    found.add((method, path, field))
    assert found == {(f.method, f.path, f.field) for f in TABLE}


@pytest.mark.parametrize("case", TABLE, ids=lambda f: f"{f.method} {f.path} {f.field}")
async def test_an_instant_in_any_zone_reads_back_as_the_same_instant(sqlite_database, case):
    app = scoring_app(await sqlite_database("scoring"))
    sent = (NOW + timedelta(days=3)).replace(microsecond=0)
    async with running_with_people(app) as client:
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
        read = {}
        for label, zone in OFFSETS.items():
            value = sent.astimezone(zone).isoformat().replace("+00:00", "Z")
            assert value.endswith(label)
            created = await case.send(client, account_id, value)
            assert created.status_code < 300, created.text
            read[label] = datetime.fromisoformat(await case.read_back(client, account_id, created))
        naive = await case.send(client, account_id, sent.replace(tzinfo=None).isoformat())
    assert all(moment == sent for moment in read.values()), read
    assert all(moment.utcoffset() is not None for moment in read.values())
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == case.field
