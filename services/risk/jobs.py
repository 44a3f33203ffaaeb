"""Periodic work of the risk service: seeding defaults at start and the contract expiry reminders."""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.alerts import refresh_concentration, seed_defaults
from services.risk.contracts import run_expiry_reminders
from services.risk.service import expire_temporary_limits, refresh_all_credit_signals
from shared.db import Database

log = logging.getLogger("kam.risk")


async def seed_on_start(app: FastAPI) -> None:
    """Create the default early-warning rules and contingency plans (another replica may win the race)."""
    db: Database = app.state.db
    try:
        async with db.transaction() as session:
            await seed_defaults(session, now=app.state.clock.now())
    except IntegrityError:
        log.info("default rules were seeded concurrently by another replica")


async def contract_reminders_job(app: FastAPI) -> int:
    """Send the contract expiry reminders due at the app clock's now; returns how many were sent."""
    db: Database = app.state.db
    async with db.transaction() as session:
        sent = await run_expiry_reminders(session, now=app.state.clock.now())
    return len(sent)


async def risk_watch_job(app: FastAPI) -> dict[str, int]:
    """At the app clock's now: expire temporary limits, refresh overdue/utilisation and concentration signals."""
    db: Database = app.state.db
    async with db.transaction() as session:
        return await run_risk_watch(session, now=app.state.clock.now())


async def run_risk_watch(session: AsyncSession, *, now: datetime) -> dict[str, int]:
    """The watch in the caller's transaction (the job and the ops endpoint share it)."""
    expired = await expire_temporary_limits(session, now=now)
    credit = await refresh_all_credit_signals(session, now=now)
    concentration = await refresh_concentration(session, now=now)
    return {"temporary_limits_expired": len(expired), "accounts_checked": credit, "revenue_accounts": concentration}
