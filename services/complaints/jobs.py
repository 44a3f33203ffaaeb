"""The periodic jobs of the complaints service: each wakes timers stored in the database."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.calendars.service import load_rules_calendar
from services.complaints.config import ComplaintsSettings
from services.complaints.intake.revisits import check_due_revisits
from services.complaints.intake.timers import check_sla_timers
from services.complaints.rules import Rules
from services.complaints.surveys.asking import generate_due_requests
from services.complaints.taskforce.service import check_overdue_tasks
from shared.bus import Publisher
from shared.service import PeriodicJob


async def wake_stored_timers(
    session: AsyncSession, *, now: datetime, rules: Rules, publisher: Publisher
) -> dict[str, int]:
    """Every time-driven event due at ``now``, each marked and published once in the caller's transaction: SLA
    warnings and breaches (``complaints.sla_warning`` / ``sla_breached``, escalations), overdue tasks
    (``complaints.task_overdue``) and revisits due (``complaints.revisit_due``). Counts what happened."""
    counts = await check_sla_timers(session, now=now, rules=rules, publisher=publisher)
    found = {
        "task_overdue": await check_overdue_tasks(session, now=now, publisher=publisher),
        "revisit_due": await check_due_revisits(session, now=now, rules=rules, publisher=publisher),
    }
    return counts | {what: n for what, n in found.items() if n}


async def run_sla_check(app: FastAPI) -> dict[str, int]:
    """One pass of the stored timers against the app's clock, in its own transaction (the ``sla-timers`` job).

    It first takes the stored business calendar again, so that a year upserted through another replica (or an
    upsert whose transaction failed after it reached this replica's rules) is what the pass computes with.
    """
    rules = app.state.complaint_rules
    async with app.state.db.transaction() as session:
        await load_rules_calendar(session, rules=rules)
        return await wake_stored_timers(session, now=app.state.clock.now(), rules=rules, publisher=app.state.publisher)


async def run_survey_schedules(app: FastAPI) -> int:
    """One pass of the survey schedules (the ``survey-schedules`` job): the requests due now, each made once."""
    async with app.state.db.transaction() as session:
        result = await generate_due_requests(session, now=app.state.clock.now(), rules=app.state.survey_rules)
    return result.created


def jobs_for(settings: ComplaintsSettings) -> list[PeriodicJob]:
    """The jobs the settings switch on (tests switch them off and call ``run_sla_check`` and the generation
    themselves)."""
    jobs = []
    if settings.sla_check_enabled:
        jobs.append(PeriodicJob("sla-timers", run_sla_check, settings.sla_check_interval_seconds))
    if settings.survey_schedule_enabled:
        jobs.append(PeriodicJob("survey-schedules", run_survey_schedules, settings.survey_schedule_interval_seconds))
    return jobs
