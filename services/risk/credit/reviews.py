"""Periodic credit reviews: the due list (ranked by days overdue) and ``risk.review_due``, published once per
profile and review date by the risk watch. The review date itself is set at each assessment from the grade
(``CasePolicy.review_interval_months``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit.models import CreditProfile
from services.risk.models import platform
from services.risk.paging import paged
from shared.api import PageParams
from shared.auth import Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.events import CreditReviewDue
from shared.events.catalogue import CreditReviewDueData


@dataclass(frozen=True)
class DueReview:
    """A credit profile whose review date has come (or comes within the window asked for)."""

    account_id: str
    name: str
    owner_id: str | None
    grade: str | None
    risk_class: str | None
    assessed_at: datetime | None
    review_on: date
    overdue_days: int  # negative: due in that many days


async def list_due_reviews(
    session: AsyncSession, *, actor: Principal, today: date, within_days: int, page: PageParams
) -> tuple[list[DueReview], int]:
    """Profiles the actor may see with a review date by ``today`` + ``within_days``, most overdue first."""
    stmt = select(CreditProfile).where(
        CreditProfile.review_on.is_not(None),
        CreditProfile.review_on <= today + timedelta(days=within_days),
        visible_accounts_clause(platform, actor, CreditProfile.account_id),
    )
    profiles, total = await paged(session, stmt, page, CreditProfile.review_on, CreditProfile.account_id)
    accounts = platform.accounts
    found = await session.execute(
        select(accounts.c.account_id, accounts.c.name, accounts.c.owner_id).where(
            accounts.c.account_id.in_([p.account_id for p in profiles])
        )
    )
    names = {row.account_id: (row.name, row.owner_id) for row in found}
    return [_due(profile, names.get(profile.account_id, ("", None)), today) for profile in profiles], total


def _due(profile: CreditProfile, account: tuple[str, str | None], today: date) -> DueReview:
    assert profile.review_on is not None  # selected on it
    return DueReview(
        account_id=profile.account_id,
        name=account[0],
        owner_id=account[1],
        grade=profile.grade,
        risk_class=profile.risk_class,
        assessed_at=profile.assessed_at,
        review_on=profile.review_on,
        overdue_days=(today - profile.review_on).days,
    )


async def announce_due_reviews(session: AsyncSession, *, publisher: Publisher, today: date) -> int:
    """Publish ``risk.review_due`` once for each profile whose review date has come by ``today`` (the business
    date): ``review_notified_on`` marks that date in the same transaction, replicas skip rows another one holds,
    and a new review date (a later assessment) is announced again once due. Returns how many were announced."""
    query = (
        select(CreditProfile)
        .where(
            CreditProfile.review_on.is_not(None),
            CreditProfile.review_on <= today,
            or_(
                CreditProfile.review_notified_on.is_(None),
                CreditProfile.review_notified_on != CreditProfile.review_on,
            ),
        )
        .order_by(CreditProfile.review_on, CreditProfile.account_id)
        .with_for_update(skip_locked=True)
    )
    profiles = list((await session.execute(query)).scalars())
    accounts = platform.accounts
    for profile in profiles:
        assert profile.review_on is not None  # selected on it
        owner = await session.scalar(select(accounts.c.owner_id).where(accounts.c.account_id == profile.account_id))
        profile.review_notified_on = profile.review_on
        data = CreditReviewDueData(review_on=profile.review_on, owner_id=owner)
        await publisher.publish(session, CreditReviewDue, data, account_id=profile.account_id)
    await session.flush()
    return len(profiles)
