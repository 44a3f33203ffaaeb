"""The SLA preview: when a complaint of a tier and severity received at any instant would be due (as intake says)."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints import sla
from services.complaints.calendars.service import calendar_warnings
from services.complaints.intake.timers import preview_deadlines
from services.complaints.reference.schemas import DeadlineRead, SlaPreview, SlaPreviewBody
from services.complaints.reference.service import DEFAULT_TIER
from services.complaints.rules import Rules
from shared.clock import business_date


def _read(deadline: sla.Deadline | None) -> DeadlineRead:
    if deadline is None:
        return DeadlineRead(due_at=None, warning_at=None)
    return DeadlineRead(due_at=deadline.due_at, warning_at=deadline.warning_at)


async def preview_sla(session: AsyncSession, *, body: SlaPreviewBody, rules: Rules) -> SlaPreview:
    """Intake's policy lookup and arithmetic for ``body.received_at``, with a warning for each year the timers
    run through that has no calendar data (there every weekday counts as a working day)."""
    tier = None if body.tier == DEFAULT_TIER else body.tier
    policy, due = await preview_deadlines(
        session,
        tier=tier,
        severity=body.severity,
        received_at=body.received_at,
        rules=rules,
        category=body.category,
        channel=body.channel,
    )
    ends = [d.due_at for d in (due.first_response, due.resolution, due.customer_update) if d and d.due_at]
    years = rules.calendar.uncovered_years(body.received_at, max(ends, default=body.received_at))
    today = business_date(body.received_at, rules.calendar.zone)
    return SlaPreview(
        tier=body.tier,
        severity=body.severity,
        received_at=body.received_at.astimezone(UTC),
        policy_tier=policy.tier,
        policy_category=policy.category,
        policy_channel=policy.channel,
        policy_version=policy.version,
        hours_mode=policy.hours_mode,
        first_response_minutes=policy.first_response_minutes,
        update_interval_minutes=policy.update_interval_minutes,
        resolution_minutes=policy.resolution_minutes,
        warning_ratio=policy.warning_ratio,
        first_response=_read(due.first_response),
        customer_update=_read(due.customer_update),
        resolution=_read(due.resolution),
        calendar=rules.calendar.code,
        calendar_warnings=calendar_warnings(rules.calendar, today=today, years=years),
    )
