"""Read side of intake: a complaint as the API shows it, the visible complaints, filtered and paged lists."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.intake.models import Complaint, Escalation
from services.complaints.intake.schemas import ComplaintFilters
from services.complaints.intake.states import OPEN_STATES, TRANSITIONS
from services.complaints.intake.timers import timer_states
from services.complaints.labels import complaint_labels
from services.complaints.models import platform
from services.complaints.reference.models import Category
from shared.api import PageParams
from shared.auth import Principal, visible_accounts_clause

SORTABLE = ("opened_at", "severity", "state", "updated_at", "resolution_due_at", "first_response_due_at")


def complaint_payload(complaint: Complaint, now: datetime) -> dict[str, Any]:
    """A complaint as the API shows it, with its SLA state at ``now``, the allowed next states and the labels
    (中文/English) of its codes."""
    data = {c.key: getattr(complaint, c.key) for c in Complaint.__table__.columns}
    data["sla"] = timer_states(complaint, now)
    data["allowed_transitions"] = list(TRANSITIONS[complaint.state])
    entry: Category | None = complaint.__dict__.get("category_entry")  # loaded with the complaint (selectin)
    parent = entry.__dict__.get("parent") if entry is not None else None
    data["category_parent"] = entry.parent_code if entry is not None else None
    data["labels"] = complaint_labels(
        category=(entry.label_zh, entry.label_en) if entry is not None else None,
        parent=(parent.label_zh, parent.label_en) if parent is not None else None,
        row=data,
    )
    return data


def category_clause(code: str) -> ColumnElement[bool]:
    """A category filter: the category itself or any of its sub-categories."""
    children = select(Category.code).where(Category.parent_code == code)
    return or_(Complaint.category == code, Complaint.category.in_(children))


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
        query = query.where(category_clause(filters.category))
    if filters.channel:
        query = query.where(Complaint.channel == filters.channel)
    if filters.escalation_level is not None:
        query = query.where(Complaint.escalation_level == filters.escalation_level)
    if filters.escalated_to:
        # Escalated to this person: the complaint's current rung names them.
        current = select(Escalation.id).where(
            Escalation.complaint_id == Complaint.id,
            Escalation.level == Complaint.escalation_level,
            Escalation.escalated_to == filters.escalated_to,
        )
        query = query.where(current.exists())
    if filters.owner_id:
        query = query.where(Complaint.owner_id == filters.owner_id)
    if filters.open_only:
        query = query.where(Complaint.state.in_(OPEN_STATES))
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


async def breaching_soon(
    session: AsyncSession,
    *,
    actor: Principal,
    now: datetime,
    page: PageParams,
    filters: ComplaintFilters,
    within: timedelta,
) -> tuple[list[dict[str, Any]], int]:
    """Open complaints not yet breached whose next running timer falls due within ``within`` of ``now`` (soonest
    first): the "breaching soon" queue."""
    query = visible_complaints(actor, filters).where(Complaint.state.in_(OPEN_STATES), Complaint.paused.is_(False))
    soon = []
    for complaint in (await session.execute(query)).scalars().all():
        state = timer_states(complaint, now)
        if state["state"] in ("ok", "warning") and state["next_due_at"] and state["next_due_at"] <= now + within:
            soon.append((state["next_due_at"], complaint.id, complaint))
    soon.sort(key=lambda item: (item[0], item[1]))
    chosen = soon[page.offset : page.offset + page.limit]
    return [complaint_payload(c, now) for _, _, c in chosen], len(soon)
