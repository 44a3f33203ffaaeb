"""HTTP routes of account hierarchies: where an account stands in its group, its subsidiaries, the group roll-up."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query

from services.scoring.deps import AccountForRead, Actor, At
from services.scoring.models import platform
from services.scoring.registry import hierarchy, service
from services.scoring.registry.schemas import AccountHierarchyRead, AccountRead, GroupSummaryRead
from shared.errors import PROBLEM_RESPONSES
from shared.service import SessionDep

router = APIRouter(responses=PROBLEM_RESPONSES)
ACCOUNTS: list[str | Enum] = ["accounts"]


@router.get(
    "/accounts/{account_id}/hierarchy",
    response_model=AccountHierarchyRead,
    tags=ACCOUNTS,
    summary="The account's groups above and subsidiaries below",
)
async def get_hierarchy(account: AccountForRead, session: SessionDep, actor: Actor) -> AccountHierarchyRead:
    """Ancestors (top group first) and the tree of subsidiaries; accounts the caller may not see are left out."""
    return await hierarchy.account_hierarchy(session, platform, account=account, actor=actor)


@router.get(
    "/accounts/{account_id}/subsidiaries",
    response_model=list[AccountRead],
    tags=ACCOUNTS,
    summary="The account's subsidiaries",
)
async def get_subsidiaries(
    account: AccountForRead,
    session: SessionDep,
    actor: Actor,
    at: At,
    all_levels: Annotated[bool, Query(alias="all", description="Every level below, not only direct ones")] = False,
) -> list[AccountRead]:
    """Direct subsidiaries (``all=true``: every account below), those the caller sees, by level and name."""
    subs = await hierarchy.subsidiaries(session, platform, account=account, actor=actor, all_levels=all_levels)
    return await service.account_reads(session, accounts=subs, now=at.now)


@router.get(
    "/accounts/{account_id}/group-summary",
    response_model=GroupSummaryRead,
    tags=ACCOUNTS,
    summary="The group rolled up over its subsidiaries",
)
async def get_group_summary(account: AccountForRead, session: SessionDep, actor: Actor, at: At) -> GroupSummaryRead:
    """Purchases per currency over the 12-month window, subsidiaries and their tiers, the group's score inputs."""
    return await hierarchy.group_summary(session, platform, account=account, actor=actor, at=at)
