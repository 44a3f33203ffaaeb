"""The complaints sections of the gateway's composed views (account overview, portfolio board) and their routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.deps import AccountForRead, Actor
from services.complaints.intake.models import Complaint
from services.complaints.intake.queries import complaint_payload
from services.complaints.intake.states import OPEN_STATES
from services.complaints.intake.timers import timer_states
from services.complaints.models import platform
from services.complaints.surveys.queries import account_summary
from shared.auth import Principal, visible_accounts_clause
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep
from shared.views.complaints import (
    ComplaintBrief,
    ComplaintCounts,
    ComplaintsAccountView,
    ComplaintSlaBrief,
    ComplaintsPortfolioView,
    PortfolioComplaintBrief,
    SurveyStanding,
)
from shared.vocabulary import SEVERITIES

router = APIRouter(tags=["complaints"], responses=PROBLEM_RESPONSES)


def _brief_fields(complaint: Complaint, now: datetime) -> dict[str, Any]:
    sla = timer_states(complaint, now)
    return {
        "complaint_id": complaint.id,
        "account_id": complaint.account_id,
        "title": complaint.title,
        "category": complaint.category,
        "severity": complaint.severity,
        "state": complaint.state,
        "owner_id": complaint.owner_id,
        "opened_at": complaint.opened_at,
        "escalation_level": complaint.escalation_level,
        "labels": complaint_payload(complaint, now)["labels"],
        "sla": ComplaintSlaBrief(
            state=sla["state"],
            next_due_at=sla["next_due_at"],
            first_response_due_at=complaint.first_response_due_at if complaint.acknowledged_at is None else None,
            resolution_due_at=complaint.resolution_due_at,
            warning=sla["warning"],
            breached=sla["breached"],
            paused=sla["paused"],
        ),
    }


async def build_account_view(session: AsyncSession, *, account: dict[str, Any], now: datetime) -> ComplaintsAccountView:
    """The complaints section of the account 360: open complaints with owner and SLA state, and counts."""
    account_id = account["account_id"]
    by_state_query = (
        select(Complaint.state, func.count()).where(Complaint.account_id == account_id).group_by(Complaint.state)
    )
    counts_by_state = dict((await session.execute(by_state_query)).all())
    open_query = (
        select(Complaint)
        .where(Complaint.account_id == account_id, Complaint.state.in_(OPEN_STATES))
        .order_by(Complaint.opened_at)
    )
    items = [ComplaintBrief(**_brief_fields(c, now)) for c in (await session.execute(open_query)).scalars().all()]
    satisfaction = await session.scalar(
        select(func.avg(Complaint.satisfaction)).where(
            Complaint.account_id == account_id, Complaint.satisfaction.is_not(None)
        )
    )
    return ComplaintsAccountView(
        account_id=account_id,
        name=account["name"],
        tier=account["tier"],
        counts=ComplaintCounts(
            total=sum(counts_by_state.values()),
            open=len(items),
            breached=sum(1 for i in items if i.sla.breached),
            warning=sum(1 for i in items if i.sla.warning),
            by_state={state: int(n) for state, n in sorted(counts_by_state.items())},
        ),
        average_satisfaction=round(float(satisfaction), 2) if satisfaction is not None else None,
        open_complaints=items,
        surveys=SurveyStanding(**await account_summary(session, account_id=account_id)),
    )


async def build_portfolio_view(session: AsyncSession, *, actor: Principal, now: datetime) -> ComplaintsPortfolioView:
    """The complaints section of the supervisor's board: breaches, warnings, open by severity."""
    accounts = platform.accounts
    rows = (
        await session.execute(
            select(Complaint, accounts.c.name, accounts.c.tier)
            .outerjoin(accounts, accounts.c.account_id == Complaint.account_id)
            .where(
                Complaint.state.in_(OPEN_STATES),
                visible_accounts_clause(platform, actor, Complaint.account_id),
            )
            .order_by(Complaint.opened_at)
        )
    ).all()
    by_severity = {s: 0 for s in reversed(SEVERITIES)}  # critical first
    breached: list[PortfolioComplaintBrief] = []
    warning: list[PortfolioComplaintBrief] = []
    for complaint, name, tier in rows:
        by_severity[complaint.severity] = by_severity.get(complaint.severity, 0) + 1
        item = PortfolioComplaintBrief(**_brief_fields(complaint, now), account_name=name, tier=tier)
        if item.sla.breached:
            breached.append(item)
        elif item.sla.warning:
            warning.append(item)
    return ComplaintsPortfolioView(
        open_total=len(rows),
        open_by_severity=dict(by_severity),
        breached_count=len(breached),
        warning_count=len(warning),
        breached=breached,
        at_warning=warning,
    )


@router.get("/complaints/views/accounts/{account_id}", summary="This service's section of the account overview")
async def account_view(account: AccountForRead, session: SessionDep, clock: ClockDep) -> ComplaintsAccountView:
    """The complaints section of the account 360 (composed by the gateway)."""
    return await build_account_view(session, account=account, now=clock.now())


@router.get("/complaints/views/portfolio", summary="This service's section of the portfolio board")
async def portfolio_view(session: SessionDep, actor: Actor, clock: ClockDep) -> ComplaintsPortfolioView:
    """The complaints section of the supervisor's board (composed by the gateway)."""
    return await build_portfolio_view(session, actor=actor, now=clock.now())
