"""HTTP routes of the work queues: complaints escalated to me, complaints breaching soon (filters honoured)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from services.complaints.deps import Actor, ListFilters, Paging
from services.complaints.intake import queries
from services.complaints.intake.schemas import ComplaintRead
from shared.api import Page, parse_sort
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["complaints"], responses=PROBLEM_RESPONSES)


@router.get("/complaints/queues/escalated-to-me", summary="Open complaints whose current rung is me")
async def escalated_to_me(
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    page: Paging,
    filters: ListFilters,
    sort: Annotated[str | None, Query(description="e.g. -opened_at, resolution_due_at")] = None,
) -> Page[ComplaintRead]:
    """The open complaints escalated to the caller (the current level's target), with the list's filters."""
    mine = dataclasses.replace(filters, escalated_to=actor.user_id, open_only=True)
    items, total = await queries.list_complaints(
        session,
        actor=actor,
        now=clock.now(),
        page=page,
        sort=parse_sort(sort, queries.SORTABLE, "-opened_at"),
        filters=mine,
    )
    return Page[ComplaintRead](
        items=[ComplaintRead.model_validate(i) for i in items], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/complaints/queues/breaching-soon", summary="Open complaints due within the next minutes")
async def breaching_soon(
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    page: Paging,
    filters: ListFilters,
    within_minutes: Annotated[int, Query(ge=1, le=60 * 24 * 14, description="Horizon in minutes")] = 240,
) -> Page[ComplaintRead]:
    """Visible open complaints not yet breached (nor paused) whose next timer is due within ``within_minutes``,
    soonest first, with the list's filters."""
    items, total = await queries.breaching_soon(
        session,
        actor=actor,
        now=clock.now(),
        page=page,
        filters=filters,
        within=timedelta(minutes=within_minutes),
    )
    return Page[ComplaintRead](
        items=[ComplaintRead.model_validate(i) for i in items], total=total, limit=page.limit, offset=page.offset
    )
