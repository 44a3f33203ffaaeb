"""API conventions shared by every service: pagination, ETags, idempotency keys, money."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from sqlalchemy import Column, Integer, MetaData, String, Table, Text

from shared.db import UTCDateTime
from shared.errors import PreconditionFailed, PreconditionRequired, Unprocessable

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


IF_MATCH_REQUIRED = (
    "If-Match is required to change this resource: GET it and send its ETag back as If-Match "
    "(a change made since is then refused with 412 instead of being overwritten)"
)


def check_if_match(request: Request, current_version: int | str) -> None:
    """Require the ETag last read as ``If-Match``: absent → 428, stale → 412 (``*``: any version of the resource)."""
    header = request.headers.get("if-match")
    if header is None or not header.strip():
        raise PreconditionRequired(IF_MATCH_REQUIRED, field="If-Match")
    if header.strip() == "*":
        return
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    if etag_for(current_version) not in candidates:
        raise PreconditionFailed(
            f"The resource has changed (current version {current_version}); reload it and retry",
            current_version=current_version,
        )


def check_if_match_upsert(request: Request, current_version: int | str | None) -> None:
    """``check_if_match`` for a PUT that creates the resource when it is missing (``current_version`` None): the
    create goes without ``If-Match`` (any given one fails with 412: no version can match), a replace needs it."""
    if current_version is not None:
        check_if_match(request, current_version)
    elif request.headers.get("if-match") is not None:
        raise PreconditionFailed("The resource does not exist yet; send its create without If-Match")


def set_etag(response: Response, version: int | str) -> None:
    """Expose the row version as ETag."""
    response.headers["ETag"] = etag_for(version)


def idempotency_table(metadata: MetaData) -> Table:
    """The ``Idempotency-Key`` claims of POSTs and their stored answers (``shared.idempotency``): ``status`` 0 while
    the first request runs, then its status, with ``body`` a JSON envelope of the answer (status, headers, body)."""
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
