"""What the risk routers share: role dependencies, paging and Idempotency-Key helpers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.models import idempotency_keys
from shared import api as shared_api
from shared.api import PageParams, page_params
from shared.auth import RISK_OFFICER, SERVICE, SUPERVISOR, Principal, require_roles

# Who manages credit (limits, assessments, receivables, releases); admin always passes require_roles.
CreditManager = Annotated[Principal, Depends(require_roles(RISK_OFFICER, SUPERVISOR))]
# Who feeds receivables and financial signals: credit managers and integrations (ERP, finance).
CreditFeeder = Annotated[Principal, Depends(require_roles(RISK_OFFICER, SUPERVISOR, SERVICE))]
# The checker of a limit request and the owner of industry policies and rule configuration.
RiskOfficer = Annotated[Principal, Depends(require_roles(RISK_OFFICER))]
Paging = Annotated[PageParams, Depends(page_params)]


async def replay_idempotent(
    session: AsyncSession, request: Request, principal: Principal, payload: Any
) -> JSONResponse | None:
    """The stored response when this Idempotency-Key was used before (same payload), else None."""
    return await shared_api.replay_response(
        session, idempotency_keys, request=request, principal_id=principal.user_id, payload=payload
    )


async def remember_response(
    session: AsyncSession, request: Request, principal: Principal, payload: Any, body: Any, status: int = 201
) -> None:
    """Keep the response of a create made with an Idempotency-Key (same transaction)."""
    await shared_api.remember_response(
        session,
        idempotency_keys,
        request=request,
        principal_id=principal.user_id,
        payload=payload,
        body=body,
        status=status,
    )


def page_of(items: list[Any], total: int, page: PageParams) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


async def paged(session: AsyncSession, stmt: Any, page: PageParams, *order_by: Any) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = (await session.execute(stmt.order_by(*order_by).limit(page.limit).offset(page.offset))).scalars().all()
    return list(rows), int(total or 0)
