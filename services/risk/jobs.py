"""Periodic work of the risk service: seeding defaults at start and the contract expiry reminders."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from services.risk.alerts import seed_defaults
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


async def credit_watch_job(app: FastAPI) -> int:
    """Expire temporary limits and refresh overdue/utilisation signals at the app clock's now."""
    db: Database = app.state.db
    async with db.transaction() as session:
        now = app.state.clock.now()
        await expire_temporary_limits(session, now=now)
        return await refresh_all_credit_signals(session, now=now)
