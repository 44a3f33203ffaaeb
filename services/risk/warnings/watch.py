"""The risk watch: what time alone changes — temporary limits expire, receivables age, revenue shares shift."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit.receivables import refresh_all_credit_signals
from services.risk.credit.service import expire_temporary_limits
from services.risk.warnings.revenue import refresh_concentration
from shared.bus import Publisher


async def run_risk_watch(session: AsyncSession, *, publisher: Publisher, now: datetime, today: date) -> dict[str, int]:
    """Expire temporary limits, refresh overdue/utilisation and concentration signals (the job and the ops route).

    ``today`` is the business date in the company's zone: a limit that expired yesterday there is dropped, days
    past due and "the last completed month" are counted from it.
    """
    expired = await expire_temporary_limits(session, publisher=publisher, now=now, today=today)
    credit = await refresh_all_credit_signals(session, publisher=publisher, now=now, today=today)
    concentration = await refresh_concentration(session, publisher=publisher, now=now, today=today)
    return {"temporary_limits_expired": len(expired), "accounts_checked": credit, "revenue_accounts": concentration}
