"""Settings of the risk service (env prefix ``KAM_RISK_``)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RiskSettings(ServiceSettings):
    """Settings read from ``KAM_RISK_*`` (platform-wide ones also from ``KAM_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_RISK_", extra="ignore")

    service_name: str = "risk"
    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///./var/risk.db"
    # Periodic jobs (contract reminders, credit watch); tests switch them off and call the job functions.
    jobs_enabled: bool = True
    jobs_interval_seconds: float = 3600
