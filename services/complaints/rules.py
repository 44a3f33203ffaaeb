"""The configurable rules of the closed loop and the SLA calendar, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.complaints import sla
from services.complaints.config import ComplaintsSettings


@dataclass(frozen=True)
class Rules:
    """The configurable rules of the closed loop and the SLA calendar."""

    calendar: sla.BusinessCalendar
    low_satisfaction_threshold: int = 2
    low_satisfaction_action: str = "reopen"
    reopen_escalation_count: int = 2
    ladder: tuple[str, ...] = ("sup-wang", "director")


def rules_from_settings(settings: ComplaintsSettings) -> Rules:
    """Build the rules (and the business calendar) from settings."""
    files: list[Path | str] = list(settings.holiday_files) or list(sla.DEFAULT_HOLIDAY_FILES)
    calendar = sla.load_calendar(
        files,
        timezone=settings.business_timezone,
        day_start=settings.business_day_start,
        day_end=settings.business_day_end,
        extra_holidays=settings.extra_holidays,
        extra_workdays=settings.extra_workdays,
    )
    return Rules(
        calendar=calendar,
        low_satisfaction_threshold=settings.low_satisfaction_threshold,
        low_satisfaction_action=settings.low_satisfaction_action,
        reopen_escalation_count=settings.reopen_escalation_count,
        ladder=(settings.escalation_supervisor_id, settings.escalation_director_id),
    )
