"""Periodic jobs of the goals service."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.goals.targets.tracking import retrack_recent_targets
from shared.service import PeriodicJob


async def retrack_targets(app: FastAPI) -> None:
    """Re-evaluate approved targets as time passes (a run-rate falls when no sales come in)."""
    async with app.state.db.transaction() as session:
        await retrack_recent_targets(
            session, settings=app.state.settings, publisher=app.state.publisher, now=app.state.clock.now()
        )


JOBS = [PeriodicJob("retrack-targets", run=retrack_targets, interval_seconds=timedelta(hours=1).total_seconds())]
