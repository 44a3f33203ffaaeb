"""Periodic work of the risk service: seeding defaults at start, the contract expiry reminders and the risk watch
(which also announces overdue contingency-plan steps)."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from services.risk.config import RiskSettings
from services.risk.contracts.service import run_expiry_reminders
from services.risk.deps import today_of
from services.risk.warnings.revenue import refresh_stale_concentration
from services.risk.warnings.service import seed_defaults
from services.risk.warnings.watch import run_risk_watch
from shared.db import Database
from shared.service import PeriodicJob

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
    """Send the contract expiry reminders due on the business date today; returns how many were sent."""
    db: Database = app.state.db
    async with db.transaction() as session:
        sent = await run_expiry_reminders(
            session, publisher=app.state.publisher, now=app.state.clock.now(), today=today_of(app)
        )
    return len(sent)


async def risk_watch_job(app: FastAPI) -> dict[str, int]:
    """At the app clock's now: expire temporary limits, refresh overdue/utilisation and concentration signals,
    announce overdue plan steps (business dates in the company's zone)."""
    db: Database = app.state.db
    async with db.transaction() as session:
        return await run_risk_watch(
            session, publisher=app.state.publisher, now=app.state.clock.now(), zone=app.state.settings.zone
        )


async def concentration_job(app: FastAPI) -> int | None:
    """Evaluate the revenue shares once when monthly totals marked them stale (a large portfolio's events leave
    them to this job); returns how many accounts were evaluated, None when nothing had come in."""
    db: Database = app.state.db
    async with db.transaction() as session:
        return await refresh_stale_concentration(
            session, publisher=app.state.publisher, now=app.state.clock.now(), today=today_of(app)
        )


def periodic_jobs(settings: RiskSettings) -> list[PeriodicJob]:
    """The service's periodic jobs (the shared ``periodic_jobs`` switch turns them all off: tests call them)."""
    return [
        PeriodicJob("revenue-concentration", concentration_job),  # every timer_interval_seconds
        PeriodicJob("contract-expiry-reminders", contract_reminders_job, settings.jobs_interval_seconds),
        PeriodicJob("risk-watch", risk_watch_job, settings.jobs_interval_seconds),
    ]
