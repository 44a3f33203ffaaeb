"""API conventions shared by every service: pagination, ETags, idempotency keys, money."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import UTCDateTime
from shared.errors import PreconditionFailed, Unprocessable

T = TypeVar("T")
MAX_PAGE_SIZE = 500
# Deeper than any list a person pages through; bounded so a huge offset is a 422, not a database overflow.
MAX_OFFSET = 1_000_000
MAX_TEXT_LENGTH = 20_000

# Money travels as a decimal string (DESIGN §4); validation accepts numbers or strings.
MoneyStr = Annotated[
    Decimal,
    PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["12500.00"]}),
]


class RequestBody(BaseModel):
    """The base of every request body: an unknown field is a 422 naming it (no silent mass assignment), and no
    string is unbounded."""

    model_config = ConfigDict(extra="forbid", str_max_length=MAX_TEXT_LENGTH)


# An instant in a request: an offset is required (a time without one is a 422 naming the field).
Instant = AwareDatetime


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int


class PageParams(BaseModel):
    """limit/offset with a hard cap."""

    limit: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size (max 500)")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip (max 1,000,000)")] = 0,
) -> PageParams:
    """Dependency reading ``limit`` and ``offset``."""
    return PageParams(limit=limit, offset=offset)


def parse_sort(sort: str | None, allowed: Sequence[str], default: str) -> tuple[str, bool]:
    """``-score`` → ("score", descending); unknown fields are a 422 naming ``sort``."""
    value = sort or default
    descending = value.startswith("-")
    name = value.lstrip("-+")
    if name not in allowed:
        raise Unprocessable(f"sort: unknown field {name!r}; allowed: {', '.join(allowed)}", field="sort")
    return name, descending


def check_range(start: Any, end: Any, *, field: str = "from") -> None:
    """A ``from``/``to`` range of a query: either end may be open; a start after the end is a 422 naming ``field``."""
    if start is not None and end is not None and start > end:
        raise Unprocessable("from must not be after to", field=field)


def etag_for(version: int | str) -> str:
    """A strong ETag from a row version."""
    return f'"{version}"'


def check_if_match(request: Request, current_version: int | str) -> None:
    """Refuse a stale ``If-Match`` with 412 (absent header: last write wins)."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    if etag_for(current_version) not in candidates:
        raise PreconditionFailed(
            f"The resource has changed (current version {current_version}); reload it and retry",
            current_version=current_version,
        )


def set_etag(response: Response, version: int | str) -> None:
    """Expose the row version as ETag."""
    response.headers["ETag"] = etag_for(version)


def idempotency_table(metadata: MetaData) -> Table:
    """Stored responses of creates made with an ``Idempotency-Key``."""
    return Table(
        "idempotency_keys",
        metadata,
        Column("key", String(200), primary_key=True),
        Column("principal", String(100), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status", Integer, nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
    )


MAX_IDEMPOTENCY_KEY_LENGTH = 200  # the column's width
_IDEMPOTENCY_KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_IDEMPOTENCY_KEY_LENGTH}}}$")


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key`` (None when absent); too long or not printable ASCII is a 422."""
    key = request.headers.get("idempotency-key")
    if key is None or key == "":
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise Unprocessable(
            f"Idempotency-Key: 1–{MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters without spaces (a UUID is "
            "a good key)",
            field="Idempotency-Key",
        )
    return key


def _hash_request(method: str, path: str, payload: Any) -> str:
    raw = json.dumps({"m": method, "p": path, "b": payload}, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


async def replay_response(
    session: AsyncSession, table: Table, *, request: Request, principal_id: str, payload: Any
) -> JSONResponse | None:
    """The stored response when this ``Idempotency-Key`` was used before with the same payload, else None.

    The same key with a different payload is a 422 naming ``Idempotency-Key``.
    """
    key = idempotency_key(request)
    if key is None:
        return None
    row = (
        (await session.execute(select(table).where(table.c.key == key, table.c.principal == principal_id)))
        .mappings()
        .first()
    )
    if row is None:
        return None
    if row["request_hash"] != _hash_request(request.method, request.url.path, payload):
        raise Unprocessable("Idempotency-Key was already used with a different request", field="Idempotency-Key")
    return JSONResponse(json.loads(row["body"]), status_code=int(row["status"]))


async def remember_response(
    session: AsyncSession,
    table: Table,
    *,
    request: Request,
    principal_id: str,
    payload: Any,
    body: Any,
    status: int = 201,
) -> None:
    """Keep a create's response for its ``Idempotency-Key`` (same transaction as the create)."""
    key = idempotency_key(request)
    if key is None:
        return
    await session.execute(
        insert(table).values(
            key=key,
            principal=principal_id,
            request_hash=_hash_request(request.method, request.url.path, payload),
            status=status,
            body=json.dumps(jsonable_encoder(body), default=str, ensure_ascii=False),
            created_at=datetime.now(UTC),
        )
    )


@dataclass(frozen=True)
class IdempotentCreate:
    """A create's ``Idempotency-Key``: replay the stored response of an earlier identical request, or keep this one.

    Built per request by ``shared.service.idempotency_for(table)``; everything happens in the request's transaction.
    """

    session: AsyncSession
    table: Table
    request: Request
    actor_id: str

    async def replay(self, payload: Any) -> JSONResponse | None:
        """The stored response when this key was used before with the same payload, else None."""
        return await replay_response(
            self.session, self.table, request=self.request, principal_id=self.actor_id, payload=payload
        )

    async def remember(self, payload: Any, body: Any, status: int = 201) -> None:
        """Keep this create's response for its key."""
        await remember_response(
            self.session,
            self.table,
            request=self.request,
            principal_id=self.actor_id,
            payload=payload,
            body=body,
            status=status,
        )
