"""The periodic jobs of the complaints service: each wakes timers stored in the database."""

from __future__ import annotations

from fastapi import FastAPI

from services.complaints.calendars.service import load_rules_calendar
from services.complaints.config import ComplaintsSettings
from services.complaints.intake.timers import check_sla_timers
from shared.service import PeriodicJob


async def run_sla_check(app: FastAPI) -> dict[str, int]:
    """One pass of the SLA timers against the app's clock, in its own transaction (the ``sla-timers`` job).

    It first takes the stored business calendar again, so that a year upserted through another replica (or an
    upsert whose transaction failed after it reached this replica's rules) is what the pass computes with.
    """
    rules = app.state.complaint_rules
    async with app.state.db.transaction() as session:
        await load_rules_calendar(session, rules=rules)
        return await check_sla_timers(session, now=app.state.clock.now(), rules=rules, publisher=app.state.publisher)


def jobs_for(settings: ComplaintsSettings) -> list[PeriodicJob]:
    """The jobs the settings switch on (tests switch the SLA check off and call ``run_sla_check`` themselves)."""
    if not settings.sla_check_enabled:
        return []
    return [PeriodicJob("sla-timers", run_sla_check, settings.sla_check_interval_seconds)]
