"""Planned engagements: overdue on read once their due date passes without them being held, and the planned-overdue
list of the portfolio, ranked as the cadence list is (tier, then contact level, then days overdue)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.contacts.schemas import LEVEL_REVIEW_LABELS, label_of
from services.scoring.engagement.cadence import LEVEL_ORDER, planned_days_overdue
from services.scoring.engagement.models import Engagement
from services.scoring.engagement.schemas import EngagementRead, PlannedOverdueRead
from services.scoring.registry.models import Account
from shared.api import Page, PageParams
from shared.auth import Principal, visible_accounts_clause
from shared.db import PlatformTables
from shared.vocabulary import TIER_CODES


def engagement_read(engagement: Engagement, *, today: date) -> EngagementRead:
    """An engagement as served, with whether it is overdue today (a planned one past its due date)."""
    read = EngagementRead.model_validate(engagement)
    days = planned_days_overdue(engagement.status, engagement.planned_on, today)
    read.overdue, read.days_overdue = days is not None, days
    read.level_review_label = label_of(LEVEL_REVIEW_LABELS, engagement.level_review)
    return read


async def planned_overdue(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    actor: Principal,
    today: date,
    page: PageParams,
    owner_id: str | None = None,
    tier: str | None = None,
) -> Page[PlannedOverdueRead]:
    """Planned engagements of active accounts the actor may see, due before ``today`` and not held: by tier
    (strategic first, none last), then contact level (executive first), then days overdue (most first, i.e. the
    earliest due date), then account name and id — ``cadence.overdue_rank`` in SQL, so the page is cut in the
    database."""
    query = (
        select(Engagement, Account.name, Account.tier, Account.owner_id)
        .join(Account, Account.id == Engagement.account_id)
        .where(
            Engagement.status == "planned",
            Engagement.planned_on < today,
            Account.status != "former",
            visible_accounts_clause(tables, actor, Account.id),
        )
    )
    if owner_id:
        query = query.where(Account.owner_id == owner_id)
    if tier:
        query = query.where(Account.tier == tier)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    tier_order = case({code: i for i, code in enumerate(TIER_CODES)}, value=Account.tier, else_=len(TIER_CODES))
    level_order = case({lv: i for i, lv in enumerate(LEVEL_ORDER)}, value=Engagement.level, else_=len(LEVEL_ORDER))
    ordered = query.order_by(tier_order, level_order, Engagement.planned_on, Account.name, Engagement.id)
    rows = (await session.execute(ordered.limit(page.limit).offset(page.offset))).all()
    items = [
        PlannedOverdueRead(
            **engagement_read(e, today=today).model_dump(), account_name=name, tier=account_tier, owner_id=owner
        )
        for e, name, account_tier, owner in rows
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
