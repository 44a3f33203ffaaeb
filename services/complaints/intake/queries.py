"""Read side of intake: a complaint as the API shows it, the visible complaints, filtered and paged lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.intake.models import Complaint
from services.complaints.intake.schemas import ComplaintFilters
from services.complaints.intake.states import OPEN_STATES, TRANSITIONS
from services.complaints.intake.timers import timer_states
from services.complaints.models import platform
from shared.api import PageParams
from shared.auth import Principal, visible_accounts_clause

SORTABLE = ("opened_at", "severity", "state", "updated_at", "resolution_due_at", "first_response_due_at")


def complaint_payload(complaint: Complaint, now: datetime) -> dict[str, Any]:
    """A complaint as the API shows it, with its SLA state at ``now`` and the allowed next states."""
    data = {c.key: getattr(complaint, c.key) for c in Complaint.__table__.columns}
    data["sla"] = timer_states(complaint, now)
    data["allowed_transitions"] = list(TRANSITIONS[complaint.state])
    return data


def visible_complaints(actor: Principal, filters: ComplaintFilters) -> Select[Any]:
    """The complaints of the accounts the actor may see, narrowed by ``filters``."""
    query = select(Complaint).where(visible_accounts_clause(platform, actor, Complaint.account_id))
    if filters.account_id:
        query = query.where(Complaint.account_id == filters.account_id)
    if filters.state:
        query = query.where(Complaint.state == filters.state)
    if filters.severity:
        query = query.where(Complaint.severity == filters.severity)
    if filters.category:
        query = query.where(Complaint.category == filters.category)
    if filters.owner_id:
        query = query.where(Complaint.owner_id == filters.owner_id)
    if filters.opened_from:
        query = query.where(Complaint.opened_at >= filters.opened_from)
    if filters.opened_to:
        query = query.where(Complaint.opened_at < filters.opened_to)
    return query


async def list_complaints(
    session: AsyncSession,
    *,
    actor: Principal,
    now: datetime,
    page: PageParams,
    sort: tuple[str, bool],
    filters: ComplaintFilters,
    sla_state: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of visible complaints (filters; ``sla_state`` breached/warning is judged at ``now``)."""
    limit, offset = page.limit, page.offset
    query = visible_complaints(actor, filters)
    if sla_state is not None:
        # SLA state depends on the clock; judge it in Python over the (filtered) open complaints.
        rows = (await session.execute(query.where(Complaint.state.in_(OPEN_STATES)))).scalars().all()
        matching = [c for c in rows if timer_states(c, now)["state"] == sla_state]
        name, descending = sort
        matching.sort(key=lambda c: (getattr(c, name) is None, getattr(c, name) or 0), reverse=descending)
        return [complaint_payload(c, now) for c in matching[offset : offset + limit]], len(matching)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    name, descending = sort
    column = getattr(Complaint, name)
    ordered = query.order_by(column.desc() if descending else column.asc(), Complaint.id)
    rows = (await session.execute(ordered.limit(limit).offset(offset))).scalars().all()
    return [complaint_payload(c, now) for c in rows], int(total or 0)
