"""The risk watch: what time alone changes — temporary limits expire, receivables age, revenue shares shift,
plan steps fall overdue, credit reviews fall due."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit.receivables import refresh_all_credit_signals
from services.risk.credit.reviews import announce_due_reviews
from services.risk.credit.service import expire_temporary_limits
from services.risk.warnings.revenue import refresh_concentration
from services.risk.warnings.service import announce_overdue_action_items
from shared.bus import Publisher
from shared.clock import business_date


async def run_risk_watch(
    session: AsyncSession, *, publisher: Publisher, now: datetime, zone: ZoneInfo
) -> dict[str, int]:
    """Expire temporary limits, refresh overdue/utilisation and concentration signals, announce overdue plan
    steps and credit reviews that fell due (``risk.review_due``, once per review date) — the job and the ops route.

    Business dates are counted in ``zone``, the company's: a limit that expired yesterday there is dropped, days
    past due and "the last completed month" are counted from today there; a plan step is overdue once its due
    time has passed.
    """
    today = business_date(now, zone)
    expired = await expire_temporary_limits(session, publisher=publisher, now=now, today=today)
    credit = await refresh_all_credit_signals(session, publisher=publisher, now=now, today=today)
    concentration = await refresh_concentration(session, publisher=publisher, now=now, today=today)
    overdue = await announce_overdue_action_items(session, publisher=publisher, now=now, zone=zone)
    reviews = await announce_due_reviews(session, publisher=publisher, today=today)
    return {
        "temporary_limits_expired": len(expired),
        "accounts_checked": credit,
        "revenue_accounts": concentration,
        "action_items_overdue": overdue,
        "credit_reviews_due": reviews,
    }
