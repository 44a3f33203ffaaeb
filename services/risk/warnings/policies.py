"""Industry policies: a policy change entered once for an industry becomes a signal on every account in it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.models import platform
from services.risk.paging import paged
from services.risk.warnings.models import IndustryPolicy
from services.risk.warnings.schemas import PolicyCreate
from services.risk.warnings.service import record_signal
from shared.api import PageParams
from shared.auth import Principal
from shared.bus import Publisher


async def _apply_policy(
    session: AsyncSession,
    *,
    policy: IndustryPolicy,
    account_id: str,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> None:
    await record_signal(
        session,
        account_id=account_id,
        signal_type="industry_policy",
        value=Decimal(policy.impact),
        source="policy",
        source_ref=f"policy:{policy.id}",
        title=policy.title,
        details={"policy_id": policy.id, "industry": policy.industry},
        publisher=publisher,
        now=now,
        today=today,
    )


async def create_industry_policy(
    session: AsyncSession, *, body: PolicyCreate, actor: Principal, publisher: Publisher, now: datetime, today: date
) -> tuple[IndustryPolicy, int]:
    """Enter a policy change once for an industry; it becomes a signal on every account of that industry."""
    policy = IndustryPolicy(
        industry=body.industry.strip(),
        title=body.title,
        description=body.description,
        impact=body.impact,
        effective_on=body.effective_on,
        created_by=actor.user_id,
        created_at=now,
    )
    session.add(policy)
    await session.flush()
    accounts = platform.accounts
    account_ids = (
        await session.execute(
            select(accounts.c.account_id).where(accounts.c.industry == policy.industry, accounts.c.active.is_(True))
        )
    ).scalars()
    count = 0
    for account_id in list(account_ids):
        await _apply_policy(session, policy=policy, account_id=account_id, publisher=publisher, now=now, today=today)
        count += 1
    return policy, count


async def apply_industry_policies(
    session: AsyncSession,
    *,
    account_id: str,
    industry: str | None,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> None:
    """Apply the industry's policies to an account that joined it after they were entered."""
    if not industry:
        return
    policies = (
        await session.execute(select(IndustryPolicy).where(IndustryPolicy.industry == industry.strip()))
    ).scalars()
    for policy in list(policies):
        await _apply_policy(session, policy=policy, account_id=account_id, publisher=publisher, now=now, today=today)


async def list_policies(
    session: AsyncSession, *, industry: str | None, page: PageParams
) -> tuple[list[IndustryPolicy], int]:
    """Policies newest first."""
    stmt = select(IndustryPolicy)
    if industry:
        stmt = stmt.where(IndustryPolicy.industry == industry)
    return await paged(session, stmt, page, IndustryPolicy.created_at.desc())
