"""The configurable rules of the closed loop and the SLA calendar, built once from settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from services.complaints import sla
from services.complaints.config import DEFAULT_REMEDY_APPROVAL_LIMITS, DEFAULT_TASK_DEPARTMENTS, ComplaintsSettings
from shared.clock import DEFAULT_BUSINESS_ZONE


@dataclass
class Rules:
    """The configurable rules of the closed loop and the SLA calendar.

    One object per app, shared by routes, handlers and jobs. ``calendar`` is the one part that changes while the
    app runs: it is loaded from the database at start and replaced (``use_calendar``) after a calendar year is
    upserted or when a periodic pass finds the stored calendar changed, so the next computation uses it.
    """

    calendar: sla.BusinessCalendar
    low_satisfaction_threshold: int = 2
    low_satisfaction_action: str = "reopen"
    reopen_escalation_count: int = 2
    # When a resolved complaint's revisit falls due: this many minutes after resolution, in this hours mode.
    revisit_after_minutes: int = 48 * 60
    revisit_hours_mode: sla.HoursMode = "calendar"
    ladder: tuple[str, ...] = ("sup-wang", "director")
    calendar_defaults: sla.CalendarDefaults = field(default_factory=sla.CalendarDefaults)
    seed_files: tuple[Path, ...] = sla.DEFAULT_HOLIDAY_FILES
    # The company's zone: what "today" is for the calendar's warnings and for business dates.
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_BUSINESS_ZONE))
    calendar_warning_days: int = 60
    # The task force's departments, and goodwill approval limits (role → currency → amount one approver signs).
    task_departments: tuple[str, ...] = DEFAULT_TASK_DEPARTMENTS
    remedy_approval_limits: Mapping[str, Mapping[str, Decimal]] = field(
        default_factory=lambda: DEFAULT_REMEDY_APPROVAL_LIMITS
    )

    # Uploaded attachments: the size limit and the allowed media types.
    attachment_max_bytes: int = 20 * 1024**2
    attachment_types: frozenset[str] = frozenset()

    def use_calendar(self, calendar: sla.BusinessCalendar) -> None:
        """Replace the business calendar (the next SLA computation uses it)."""
        self.calendar = calendar


def rules_from_settings(settings: ComplaintsSettings) -> Rules:
    """Build the rules from settings; the calendar holds no year until it is loaded from the database."""
    defaults = sla.CalendarDefaults(
        code=settings.calendar_code,
        timezone=settings.business_zone_name,
        day_start=settings.business_day_start,
        day_end=settings.business_day_end,
        extra_holidays=frozenset(settings.extra_holidays),
        extra_workdays=frozenset(settings.extra_workdays),
    )
    files = tuple(Path(f) for f in settings.holiday_files) or sla.DEFAULT_HOLIDAY_FILES
    return Rules(
        calendar=sla.calendar_from_years([], defaults),
        low_satisfaction_threshold=settings.low_satisfaction_threshold,
        low_satisfaction_action=settings.low_satisfaction_action,
        reopen_escalation_count=settings.reopen_escalation_count,
        revisit_after_minutes=settings.revisit_after_hours * 60,
        revisit_hours_mode=settings.revisit_hours_mode,
        ladder=(settings.escalation_supervisor_id, settings.escalation_director_id),
        calendar_defaults=defaults,
        seed_files=files,
        zone=settings.zone,
        calendar_warning_days=settings.calendar_warning_days,
        task_departments=tuple(settings.task_departments),
        remedy_approval_limits=settings.remedy_approval_limits,
        attachment_max_bytes=settings.attachment_max_bytes,
        attachment_types=frozenset(t.strip().lower() for t in settings.attachment_content_types),
    )
