"""Periodic jobs of the goals service: re-tracking targets (at risk, achieved, missed), the due / overdue
notices of open action items and the overdue notices of cross-department project parts."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.goals.actions.service import announce_action_item_dates
from services.goals.config import GoalsSettings
from services.goals.projects.service import announce_overdue_parts
from services.goals.targets.tracking import retrack_recent_targets
from shared.clock import business_date
from shared.service import PeriodicJob

HOURLY = timedelta(hours=1).total_seconds()


async def retrack_targets(app: FastAPI) -> None:
    """Re-evaluate approved targets as time passes (a run-rate falls when no sales come in, a period ends)."""
    async with app.state.db.transaction() as session:
        await retrack_recent_targets(
            session, settings=app.state.settings, publisher=app.state.publisher, now=app.state.clock.now()
        )


async def action_item_reminders(app: FastAPI) -> dict[str, int]:
    """Announce open action items due within ``action_item_due_days`` and those past their due date, each once
    (business dates in the company's zone); returns how many of each were announced."""
    settings: GoalsSettings = app.state.settings
    now = app.state.clock.now()
    async with app.state.db.transaction() as session:
        return await announce_action_item_dates(
            session,
            publisher=app.state.publisher,
            now=now,
            today=business_date(now, settings.zone),
            due_within_days=settings.action_item_due_days,
        )


async def project_part_reminders(app: FastAPI) -> int:
    """Announce each part of a cross-department project still worked on after its due date, once
    (``goals.project_part_overdue``); returns how many were announced."""
    settings: GoalsSettings = app.state.settings
    now = app.state.clock.now()
    async with app.state.db.transaction() as session:
        return await announce_overdue_parts(
            session, publisher=app.state.publisher, now=now, today=business_date(now, settings.zone)
        )


JOBS = [
    PeriodicJob("retrack-targets", run=retrack_targets, interval_seconds=HOURLY),
    PeriodicJob("action-item-reminders", run=action_item_reminders, interval_seconds=HOURLY),
    PeriodicJob("project-part-reminders", run=project_part_reminders, interval_seconds=HOURLY),
]
