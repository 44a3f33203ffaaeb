"""HTTP routes of the risk service: the domain routers plus the two views the gateway composes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.risk import contract_routes, credit_routes, warning_routes
from services.risk.models import platform
from services.risk.views import account_risk_view, portfolio_risk_view, to_json
from shared.auth import CurrentPrincipal, ensure_account_access
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["risk"], responses=PROBLEM_RESPONSES)


# ---------------------------------------------------------------- views for the gateway


@router.get("/risk/views/accounts/{account_id}", summary="This service's section of the account overview")
async def account_view(
    account_id: str, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep
) -> dict[str, Any]:
    """The risk section of the account 360 (composed by the gateway); shape in docs/risk.md."""
    account = await ensure_account_access(session, platform, principal, account_id)
    view: dict[str, Any] = to_json(await account_risk_view(session, account=account, today=clock.now().date()))
    return view


@router.get("/risk/views/portfolio", summary="This service's section of the portfolio board")
async def portfolio_view(session: SessionDep, principal: CurrentPrincipal, clock: ClockDep) -> dict[str, Any]:
    """The risk section of the supervisor's board (composed by the gateway); shape in docs/risk.md."""
    view: dict[str, Any] = to_json(await portfolio_risk_view(session, principal=principal, today=clock.now().date()))
    return view


for _module in (credit_routes, warning_routes, contract_routes):
    router.include_router(_module.router)
