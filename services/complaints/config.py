"""Settings of the complaints service (env prefix ``KAM_COMPLAINTS_``)."""

from datetime import date, time
from typing import Literal
from zoneinfo import ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.clock import business_zone
from shared.settings import ServiceSettings


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
    # The escalation ladder above the owner: level 1 = KA supervisor, level 2 = director.
    escalation_supervisor_id: str = "sup-wang"
    escalation_director_id: str = "director"
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

    @property
    def business_zone_name(self) -> str:
        """The zone of the working hours (the company's zone unless set apart)."""
        return self.business_timezone or self.timezone
