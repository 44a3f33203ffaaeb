"""Settings of the complaints service (env prefix ``KAM_COMPLAINTS_``)."""

from datetime import date, time
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ComplaintsSettings(ServiceSettings):
    """Settings read from ``KAM_COMPLAINTS_*`` (platform-wide ones also from ``KAM_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_COMPLAINTS_", extra="ignore")

    service_name: str = "complaints"
    port: int = 8002
    database_url: str = "sqlite+aiosqlite:///./var/complaints.db"
    # Business hours: working days and hours in one zone, public holidays and make-up workdays from files.
    business_timezone: str = "Asia/Shanghai"
    business_day_start: time = time(9, 0)
    business_day_end: time = time(18, 0)
    holiday_files: list[str] = Field(default_factory=list, description="Holiday calendars; empty = shipped CN 2026")
    extra_holidays: list[date] = Field(default_factory=list)
    extra_workdays: list[date] = Field(default_factory=list)
    # Closed loop: a revisit at or below this satisfaction reopens (or only escalates) the complaint.
    low_satisfaction_threshold: int = Field(default=2, ge=1, le=5)
    low_satisfaction_action: Literal["reopen", "escalate"] = "reopen"
    # The reopen that makes reopen_count reach this number escalates (and every later one).
    reopen_escalation_count: int = Field(default=2, ge=1)
    # The escalation ladder above the owner: level 1 = KA supervisor, level 2 = director.
    escalation_supervisor_id: str = "sup-wang"
    escalation_director_id: str = "director"
    # The periodic SLA check (tests switch it off and call ``run_sla_check`` themselves).
    sla_check_enabled: bool = True
    sla_check_interval_seconds: float = Field(default=30.0, gt=0)
