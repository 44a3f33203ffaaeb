"""The risk watch: what time alone changes — temporary limits expire, receivables age, revenue shares shift."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit.receivables import refresh_all_credit_signals
from services.risk.credit.service import expire_temporary_limits
from services.risk.warnings.revenue import refresh_concentration
from shared.bus import Publisher


async def run_risk_watch(session: AsyncSession, *, publisher: Publisher, now: datetime) -> dict[str, int]:
    """Expire temporary limits, refresh overdue/utilisation and concentration signals (the job and the ops route)."""
    expired = await expire_temporary_limits(session, publisher=publisher, now=now)
    credit = await refresh_all_credit_signals(session, publisher=publisher, now=now)
    concentration = await refresh_concentration(session, publisher=publisher, now=now)
    return {"temporary_limits_expired": len(expired), "accounts_checked": credit, "revenue_accounts": concentration}
