"""Read side: access-checked loading, lists, analytics facts and the gateway's view sections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.analytics import ComplaintFacts
from services.complaints.models import Complaint, platform
from services.complaints.service import OPEN_STATES, TRANSITIONS, timer_states
from shared.auth import Principal, can_access_account, visible_accounts_clause
from shared.errors import NotFound

SORTABLE = ("opened_at", "severity", "state", "updated_at", "resolution_due_at", "first_response_due_at")


async def load_complaint(
    *, session: AsyncSession, principal: Principal, complaint_id: str, for_update: bool = False
) -> Complaint:
    """A complaint the principal may see (404 otherwise, also for other managers' accounts)."""
    query = select(Complaint).where(Complaint.id == complaint_id)
    if for_update and session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    complaint = (await session.execute(query)).scalars().first()
    if complaint is None or not await can_access_account(session, platform, principal, complaint.account_id):
        raise NotFound(f"Complaint {complaint_id} not found")
    return complaint


def complaint_payload(complaint: Complaint, now: datetime) -> dict[str, Any]:
    """A complaint as the API shows it, with its SLA state at ``now`` and the allowed next states."""
    data = {c.key: getattr(complaint, c.key) for c in Complaint.__table__.columns}
    data["sla"] = timer_states(complaint, now)
    data["allowed_transitions"] = list(TRANSITIONS[complaint.state])
    return data


def _filtered(
    principal: Principal,
    *,
    account_id: str | None = None,
    state: str | None = None,
    severity: str | None = None,
    category: str | None = None,
    owner_id: str | None = None,
    opened_from: datetime | None = None,
    opened_to: datetime | None = None,
    open_only: bool = False,
) -> Select[Any]:
    query = select(Complaint).where(visible_accounts_clause(platform, principal, Complaint.account_id))
    if account_id:
        query = query.where(Complaint.account_id == account_id)
    if state:
        query = query.where(Complaint.state == state)
    if severity:
        query = query.where(Complaint.severity == severity)
    if category:
        query = query.where(Complaint.category == category)
    if owner_id:
        query = query.where(Complaint.owner_id == owner_id)
    if opened_from:
        query = query.where(Complaint.opened_at >= opened_from)
    if opened_to:
        query = query.where(Complaint.opened_at < opened_to)
    if open_only:
        query = query.where(Complaint.state.in_(OPEN_STATES))
    return query


async def list_complaints(
    *,
    session: AsyncSession,
    principal: Principal,
    now: datetime,
    limit: int,
    offset: int,
    sort: tuple[str, bool],
    sla_state: str | None = None,
    **filters: Any,
) -> tuple[list[dict[str, Any]], int]:
    """A page of visible complaints (filters; ``sla_state`` breached/warning is judged at ``now``)."""
    query = _filtered(principal, **filters)
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


async def analytics_facts(
    *,
    session: AsyncSession,
    principal: Principal,
    opened_from: datetime | None,
    opened_to: datetime | None,
    account_id: str | None,
) -> list[ComplaintFacts]:
    """The facts of every visible complaint opened in the period."""
    accounts = platform.accounts
    query = _filtered(principal, account_id=account_id, opened_from=opened_from, opened_to=opened_to)
    subquery = query.subquery()
    joined = select(subquery, accounts.c.name.label("account_name")).outerjoin(
        accounts, accounts.c.account_id == subquery.c.account_id
    )
    rows = (await session.execute(joined)).mappings().all()
    return [
        ComplaintFacts(
            complaint_id=r["id"],
            account_id=r["account_id"],
            account_name=r["account_name"] or "",
            owner_id=r["owner_id"],
            category=r["category"],
            severity=r["severity"],
            opened_at=r["opened_at"],
            first_response_minutes=r["first_response_minutes"],
            first_response_within_sla=r["first_response_within_sla"],
            first_response_breached=r["first_response_breached_at"] is not None,
            resolved_at=r["resolved_at"],
            resolution_minutes=r["resolution_minutes"],
            resolution_within_sla=r["resolution_within_sla"],
            resolution_breached=r["resolution_breached_at"] is not None,
            closed_at=r["closed_at"],
            reopen_count=r["reopen_count"],
            satisfaction=r["satisfaction"],
            root_cause_category=r["root_cause_category"],
        )
        for r in rows
    ]


def _brief(complaint: Complaint, now: datetime, account: dict[str, Any] | None = None) -> dict[str, Any]:
    sla = timer_states(complaint, now)
    item: dict[str, Any] = {
        "complaint_id": complaint.id,
        "account_id": complaint.account_id,
        "title": complaint.title,
        "category": complaint.category,
        "severity": complaint.severity,
        "state": complaint.state,
        "owner_id": complaint.owner_id,
        "opened_at": complaint.opened_at,
        "escalation_level": complaint.escalation_level,
        "sla": {
            "state": sla["state"],
            "next_due_at": sla["next_due_at"],
            "first_response_due_at": complaint.first_response_due_at if complaint.acknowledged_at is None else None,
            "resolution_due_at": complaint.resolution_due_at,
            "warning": sla["warning"],
            "breached": sla["breached"],
            "paused": sla["paused"],
        },
    }
    if account is not None:
        item["account_name"] = account.get("name")
        item["tier"] = account.get("tier")
    return item


async def account_section(*, session: AsyncSession, account: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The complaints section of the account 360: open complaints with owner and SLA state, and counts."""
    account_id = account["account_id"]
    counts_by_state = dict(
        (
            await session.execute(
                select(Complaint.state, func.count())
                .where(Complaint.account_id == account_id)
                .group_by(Complaint.state)
            )
        ).all()
    )
    open_rows = (
        (
            await session.execute(
                select(Complaint)
                .where(Complaint.account_id == account_id, Complaint.state.in_(OPEN_STATES))
                .order_by(Complaint.opened_at)
            )
        )
        .scalars()
        .all()
    )
    items = [_brief(c, now) for c in open_rows]
    satisfaction = await session.scalar(
        select(func.avg(Complaint.satisfaction)).where(
            Complaint.account_id == account_id, Complaint.satisfaction.is_not(None)
        )
    )
    return {
        "account_id": account_id,
        "name": account["name"],
        "tier": account["tier"],
        "counts": {
            "total": sum(counts_by_state.values()),
            "open": len(items),
            "breached": sum(1 for i in items if i["sla"]["breached"]),
            "warning": sum(1 for i in items if i["sla"]["warning"]),
            "by_state": {state: int(n) for state, n in sorted(counts_by_state.items())},
        },
        "average_satisfaction": round(float(satisfaction), 2) if satisfaction is not None else None,
        "open_complaints": items,
    }


async def portfolio_section(*, session: AsyncSession, principal: Principal, now: datetime) -> dict[str, Any]:
    """The complaints section of the supervisor's board: breaches, warnings, open by severity."""
    accounts = platform.accounts
    rows = (
        await session.execute(
            select(Complaint, accounts.c.name, accounts.c.tier)
            .outerjoin(accounts, accounts.c.account_id == Complaint.account_id)
            .where(
                Complaint.state.in_(OPEN_STATES),
                visible_accounts_clause(platform, principal, Complaint.account_id),
            )
            .order_by(Complaint.opened_at)
        )
    ).all()
    by_severity = {s: 0 for s in ("critical", "high", "medium", "low")}
    breached: list[dict[str, Any]] = []
    warning: list[dict[str, Any]] = []
    for complaint, name, tier in rows:
        by_severity[complaint.severity] = by_severity.get(complaint.severity, 0) + 1
        item = _brief(complaint, now, {"name": name, "tier": tier})
        if item["sla"]["breached"]:
            breached.append(item)
        elif item["sla"]["warning"]:
            warning.append(item)
    return {
        "open_total": len(rows),
        "open_by_severity": by_severity,
        "breached_count": len(breached),
        "warning_count": len(warning),
        "breached": breached,
        "at_warning": warning,
    }
