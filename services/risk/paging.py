"""One page of a list query: its rows and the total (limit/offset under the shared hard cap)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.api import PageParams


async def paged(session: AsyncSession, stmt: Select[Any], page: PageParams, *order_by: Any) -> tuple[list[Any], int]:
    """The rows of ``stmt`` on this page (in ``order_by`` order) and how many there are in all."""
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = (await session.execute(stmt.order_by(*order_by).limit(page.limit).offset(page.offset))).scalars().all()
    return list(rows), int(total or 0)


def page_of(items: list[Any], total: int, page: PageParams) -> dict[str, Any]:
    """The fields of a ``shared.api.Page`` for these items."""
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}
