"""HTTP routes of an account's score history: the time series of its scores and tiers."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query

from services.scoring.deps import AccountForRead, Paging
from services.scoring.scores.history import score_history
from services.scoring.scores.list_schemas import ScorePointRead
from shared.api import Instant, Page, check_range
from shared.errors import PROBLEM_RESPONSES
from shared.service import SessionDep

router = APIRouter(responses=PROBLEM_RESPONSES)
SCORING: list[str | Enum] = ["scoring"]


@router.get(
    "/accounts/{account_id}/score-history",
    response_model=Page[ScorePointRead],
    tags=SCORING,
    summary="Score history of an account (a time series)",
)
async def get_score_history(
    account: AccountForRead,
    session: SessionDep,
    page: Paging,
    since: Annotated[Instant | None, Query(alias="from", description="From this instant (with its offset)")] = None,
    until: Annotated[Instant | None, Query(alias="to", description="Before this instant (with its offset)")] = None,
) -> Page[ScorePointRead]:
    """Every recorded change of the account's score, effective tier or model version, oldest first (a re-score
    that changed none of them records no point)."""
    check_range(since, until, field="from")
    points, total = await score_history(session, account_id=account.id, since=since, until=until, page=page)
    items = [ScorePointRead.model_validate(p) for p in points]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
