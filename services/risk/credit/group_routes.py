"""Group credit routes: a group's exposure over itself and its subsidiaries, per currency and against its limit."""

from __future__ import annotations

from fastapi import APIRouter

from services.risk.credit import groups
from services.risk.credit.schemas import GroupExposureRead
from services.risk.deps import AccountForRead, Actor, Today
from services.risk.schemas import ConversionRead
from shared.errors import PROBLEM_RESPONSES
from shared.service import SessionDep

router = APIRouter(tags=["risk: credit"], responses=PROBLEM_RESPONSES)


@router.get("/risk/accounts/{account_id}/group-exposure", summary="Exposure of a group over its subsidiaries")
async def get_group_exposure(
    account: AccountForRead, actor: Actor, session: SessionDep, today: Today
) -> GroupExposureRead:
    """Σ of the exposures of the group and every subsidiary, per currency (never added across currencies); with a
    group limit the sums converted into its currency at today's rates (``conversions``; 422 naming a currency
    without a rate). Subsidiaries the caller may not see count in the sums but are not listed."""
    summary = await groups.group_exposure(session, account_id=account["account_id"], actor=actor, today=today)
    conversions = [ConversionRead.model_validate(c) for c in summary.pop("conversions")]
    return GroupExposureRead(**summary, conversions=conversions)
