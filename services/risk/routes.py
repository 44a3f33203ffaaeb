"""HTTP routes of the risk service."""

from typing import Any

from fastapi import APIRouter

from services.risk.models import platform
from shared.auth import CurrentPrincipal, ensure_account_access
from shared.errors import PROBLEM_RESPONSES
from shared.service import SessionDep

router = APIRouter(tags=["risk"], responses=PROBLEM_RESPONSES)


@router.get("/risk/views/accounts/{account_id}", summary="This service's section of the account overview")
async def account_view(account_id: str, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """The risk section of the account 360 (composed by the gateway)."""
    account = await ensure_account_access(session, platform, principal, account_id)
    return {"account_id": account_id, "name": account["name"], "tier": account["tier"]}


@router.get("/risk/views/portfolio", summary="This service's section of the portfolio board")
async def portfolio_view(session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """The risk section of the supervisor's board (composed by the gateway)."""
    return {}
