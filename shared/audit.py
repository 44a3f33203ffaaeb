"""The audit log of sensitive actions: who changed what, when, from what to what, in which request.

Every service keeps its own ``audit_log`` table (``audit_table``) and writes an entry with ``record_audit`` in the
same transaction as the change it records, so an entry exists exactly when the change was committed. The log is
read through ``GET /<service>/audit`` (admins and auditors) and has no route that changes or deletes an entry
(docs/AUDIT.md).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, BigInteger, Column, Index, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.api import Instant, Page, PageParams, check_range, page_params
from shared.auth import AUDITOR, require_roles
from shared.db import UTCDateTime
from shared.errors import PROBLEM_RESPONSES

# ``session.info`` keys set by the request's session dependency (shared.service.get_session): the request id of
# the transaction's request and the service it runs in, so that domain functions need not pass them along.
REQUEST_ID_INFO = "kam_request_id"
SERVICE_INFO = "kam_service"


def audit_table(metadata: MetaData) -> Table:
    """The audit log of a service: one row per sensitive action, never updated or deleted by the API."""
    table = Table(
        "audit_log",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("at", UTCDateTime, nullable=False),
        Column("service", String(40), nullable=False),
        Column("actor_id", String(100), nullable=False),
        Column("action", String(100), nullable=False),
        Column("object_type", String(60), nullable=False),
        Column("object_id", String(200), nullable=False),
        Column("before", JSON, nullable=True),
        Column("after", JSON, nullable=True),
        Column("request_id", String(128), nullable=True),
    )
    Index("ix_audit_log_object", table.c.object_type, table.c.object_id)
    Index("ix_audit_log_at", table.c.at)
    Index("ix_audit_log_action", table.c.action)
    return table


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Money stays a decimal string (DESIGN §4), without trailing zeros: 0.75 and 0.7500 are one value.
        return format(value.normalize(), "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _jsonable(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    loaded: dict[str, Any] = json.loads(json.dumps(dict(value), default=_json_default, ensure_ascii=False))
    return loaded


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of an object as a dict (what an entry's ``before``/``after`` shows)."""
    return {name: getattr(obj, name) for name in fields}


async def record_audit(
    session: AsyncSession,
    table: Table,
    *,
    actor_id: str,
    action: str,
    object_type: str,
    object_id: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    service: str | None = None,
    request_id: str | None = None,
) -> None:
    """Write one entry in the caller's transaction (it commits or rolls back with the change).

    When both ``before`` and ``after`` are given only the fields that changed are kept. The request id and the
    service default to what the request's session carries (``REQUEST_ID_INFO``, ``SERVICE_INFO``).
    """
    old, new = _jsonable(before), _jsonable(after)
    if old is not None and new is not None:
        changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
        old = {k: v for k, v in old.items() if k in changed}
        new = {k: v for k, v in new.items() if k in changed}
    await session.execute(
        insert(table).values(
            at=at or datetime.now(UTC),
            service=service or session.info.get(SERVICE_INFO) or "unknown",
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=old,
            after=new,
            request_id=request_id or session.info.get(REQUEST_ID_INFO),
        )
    )


class AuditEntry(BaseModel):
    """One recorded sensitive action."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    service: str
    actor_id: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


@dataclass(frozen=True)
class AuditFilters:
    """Which entries to list (every given field must match; ``start``/``end`` bound ``at``, both inclusive)."""

    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    actor_id: str | None = None
    request_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


async def audit_filters(
    action: Annotated[str | None, Query(max_length=100)] = None,
    object_type: Annotated[str | None, Query(max_length=60)] = None,
    object_id: Annotated[str | None, Query(max_length=200)] = None,
    actor_id: Annotated[str | None, Query(max_length=100)] = None,
    request_id: Annotated[str | None, Query(max_length=128, description="The X-Request-ID of the change")] = None,
    start: Annotated[Instant | None, Query(alias="from", description="at or after (offset required)")] = None,
    end: Annotated[Instant | None, Query(alias="to", description="at or before (offset required)")] = None,
) -> AuditFilters:
    """The list's query parameters (``from`` after ``to`` is a 422 naming ``from``)."""
    check_range(start, end)
    return AuditFilters(action, object_type, object_id, actor_id, request_id, start, end)


async def list_audit_entries(
    session: AsyncSession, table: Table, *, filters: AuditFilters, page: PageParams
) -> tuple[list[AuditEntry], int]:
    """One page of entries, newest first, and how many match."""
    conditions = [
        table.c[name] == value
        for name in ("action", "object_type", "object_id", "actor_id", "request_id")
        if (value := getattr(filters, name)) is not None
    ]
    if filters.start is not None:
        conditions.append(table.c.at >= filters.start)
    if filters.end is not None:
        conditions.append(table.c.at <= filters.end)
    query = select(table).where(*conditions).order_by(table.c.at.desc(), table.c.id.desc())
    rows = (await session.execute(query.limit(page.limit).offset(page.offset))).mappings().all()
    total = int(await session.scalar(select(func.count()).select_from(table).where(*conditions)) or 0)
    return [AuditEntry.model_validate(dict(r)) for r in rows], total


def audit_router(
    table: Table, *, path: str, tag: str, reader: Callable[..., Any] = require_roles(AUDITOR)
) -> APIRouter:
    """``GET <path>``: the audit log newest first, filtered and paged, for whoever ``reader`` admits (by default
    admins and auditors); read-only by design: no route of this module writes the log."""
    router = APIRouter(tags=[tag], responses={403: PROBLEM_RESPONSES[403], 422: PROBLEM_RESPONSES[422]})

    @router.get(
        path, summary="The audit log of sensitive actions (newest first; read-only)", dependencies=[Depends(reader)]
    )
    async def read_audit_log(
        request: Request,
        page: Annotated[PageParams, Depends(page_params)],
        filters: Annotated[AuditFilters, Depends(audit_filters)],
    ) -> Page[AuditEntry]:
        """Who did what to which object, when, from what to what, in which request (X-Request-ID)."""
        async with request.app.state.db.transaction(write=False) as session:
            items, total = await list_audit_entries(session, table, filters=filters, page=page)
        return Page[AuditEntry](items=items, total=total, limit=page.limit, offset=page.offset)

    return router
