"""Settings of the scoring service (env prefix ``KAM_SCORING_``)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    """Settings read from ``KAM_SCORING_*`` (platform-wide ones also from ``KAM_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_SCORING_", extra="ignore")

    service_name: str = "scoring"
    port: int = 8001
    database_url: str = "sqlite+aiosqlite:///./var/scoring.db"
