"""Settings of the goals service (env prefix ``KAM_GOALS_``)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class GoalsSettings(ServiceSettings):
    """Settings read from ``KAM_GOALS_*`` (platform-wide ones also from ``KAM_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_GOALS_", extra="ignore")

    service_name: str = "goals"
    port: int = 8004
    database_url: str = "sqlite+aiosqlite:///./var/goals.db"
