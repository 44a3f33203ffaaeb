"""Credit profiles: the account's limits and current grade, and the limit in force on a day."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit.models import CreditProfile


async def get_profile(session: AsyncSession, *, account_id: str) -> CreditProfile | None:
    """The account's credit profile, if it has one."""
    return await session.get(CreditProfile, account_id)


async def ensure_profile(session: AsyncSession, *, account_id: str, now: datetime) -> CreditProfile:
    """The account's credit profile, created empty (no limit, not assessed) when missing."""
    profile = await session.get(CreditProfile, account_id)
    if profile is None:
        profile = CreditProfile(account_id=account_id, currency="CNY", version=1, updated_at=now)
        session.add(profile)
        await session.flush()
    return profile


def effective_limit(profile: CreditProfile | None, today: date) -> Decimal | None:
    """The limit in force: an unexpired temporary limit overrides the permanent one."""
    if profile is None:
        return None
    if (
        profile.temporary_limit is not None
        and profile.temporary_limit_expires_on is not None
        and today <= profile.temporary_limit_expires_on
    ):
        return profile.temporary_limit
    return profile.credit_limit
