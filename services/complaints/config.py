"""Settings of the complaints service (env prefix ``KAM_COMPLAINTS_``)."""

import re
from datetime import date, time
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.clock import business_zone
from shared.settings import ServiceSettings

# The task force's departments by default (marketing among them); ``KAM_COMPLAINTS_TASK_DEPARTMENTS`` replaces them.
DEFAULT_TASK_DEPARTMENTS: tuple[str, ...] = (
    "after_sales",
    "product",
    "quality",
    "logistics",
    "legal",
    "finance",
    "marketing",
    "sales",
)
# Goodwill one approver may sign alone, per role and currency (the complaint's approved total in that currency).
DEFAULT_REMEDY_APPROVAL_LIMITS: dict[str, dict[str, Decimal]] = {
    "supervisor": {"CNY": Decimal("20000")},
    "admin": {"CNY": Decimal("100000")},
}


# What may be uploaded to a complaint: documents, spreadsheets, pictures, recordings of calls.
DEFAULT_ATTACHMENT_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "audio/mpeg",
    "audio/mp4",
)


class ComplaintsSettings(ServiceSettings):
    """Settings read from ``KAM_COMPLAINTS_*`` (platform-wide ones also from ``KAM_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_COMPLAINTS_", extra="ignore")

    service_name: str = "complaints"
    port: int = 8002
    database_url: str = "sqlite+aiosqlite:///./var/complaints.db"
    # Business hours: the calendar (working hours, public holidays, make-up workdays) is data in the database,
    # maintained through /complaints/calendars; the SLA arithmetic uses the calendar ``calendar_code``.
    calendar_code: str = Field(default="CN", pattern=r"^[A-Z][A-Z0-9-]{1,19}$")
    # The zone of the working hours; None: the company's zone (KAM_TIMEZONE).
    business_timezone: str | None = None
    # Working hours of a year the database has no data for (and of the seeded years).
    business_day_start: time = time(9, 0)
    business_day_end: time = time(18, 0)
    # Holiday files seeded into the database on start where their year is missing (never over an edit).
    holiday_files: list[str] = Field(default_factory=list, description="Holiday seed files; empty = shipped CN 2026")
    extra_holidays: list[date] = Field(default_factory=list)
    extra_workdays: list[date] = Field(default_factory=list)
    # Closed loop: a revisit at or below this satisfaction reopens (or only escalates) the complaint.
    low_satisfaction_threshold: int = Field(default=2, ge=1, le=5)
    low_satisfaction_action: Literal["reopen", "escalate"] = "reopen"
    # The reopen that makes reopen_count reach this number escalates (and every later one).
    reopen_escalation_count: int = Field(default=2, ge=1)
    # The revisit (回访) falls due this long after resolution, counted in calendar or business hours
    # (``complaints.revisit_due`` is published once when it comes due while the complaint still waits for it).
    revisit_after_hours: int = Field(default=48, ge=1, le=24 * 90)
    revisit_hours_mode: Literal["calendar", "business"] = "calendar"
    # The task force's departments (codes, snake_case): what a task's ``department`` may be.
    task_departments: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TASK_DEPARTMENTS), min_length=1, description="Task-force departments"
    )
    # Goodwill approval limits: per approver role, per currency, the complaint's approved goodwill in that currency
    # (this remedy included) one approver may approve alone; above it (or without a limit) a second approver signs.
    remedy_approval_limits: dict[str, dict[str, Decimal]] = Field(
        default_factory=lambda: {role: dict(limits) for role, limits in DEFAULT_REMEDY_APPROVAL_LIMITS.items()}
    )
    # The escalation ladder above the owner: level 1 = KA supervisor, level 2 = director.
    escalation_supervisor_id: str = "sup-wang"
    escalation_director_id: str = "director"
    # Files uploaded to complaints (kept in this service's database): the size limit and the content types taken.
    attachment_max_bytes: int = Field(default=20 * 1024**2, ge=1, le=100 * 1024**2)
    attachment_content_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ATTACHMENT_TYPES), description="Allow-list of media types"
    )
    # The periodic SLA check (tests switch it off and call ``run_sla_check`` themselves).
    sla_check_enabled: bool = True
    sla_check_interval_seconds: float = Field(default=30.0, gt=0)
    # The SLA policy list warns when the business calendar ends within this many days.
    calendar_warning_days: int = Field(default=60, ge=1, le=366)
    # Satisfaction surveys: how long a customer link stays valid, what counts as a low score (a follow-up task for
    # the account's owner), and the periodic job that generates the survey requests schedules make due.
    survey_link_days: int = Field(default=14, ge=1, le=365)
    survey_low_nps: int = Field(default=6, ge=0, le=10, description="An NPS answer at or below this is low")
    survey_low_csat: int = Field(default=2, ge=1, le=5, description="A CSAT answer at or below this is low")
    survey_company_name: str = Field(default="KA Platform", min_length=1, max_length=200)
    survey_schedule_enabled: bool = True
    survey_schedule_interval_seconds: float = Field(default=300.0, gt=0)

    @field_validator("business_timezone")
    @classmethod
    def _known_business_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                business_zone(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"business_timezone: {value!r} is not an IANA time zone") from exc
        return value

    @field_validator("task_departments")
    @classmethod
    def _department_codes(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if not re.fullmatch(r"[a-z][a-z0-9_]{0,29}", d)]
        if bad:
            raise ValueError(f"task_departments: {bad} are not snake_case codes of at most 30 characters")
        return value

    @property
    def business_zone_name(self) -> str:
        """The zone of the working hours (the company's zone unless set apart)."""
        return self.business_timezone or self.timezone
