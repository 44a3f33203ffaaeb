"""Settings of the complaints service (env prefix ``KAM_COMPLAINTS_``)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ComplaintsSettings(ServiceSettings):
    """Settings read from ``KAM_COMPLAINTS_*`` (platform-wide ones also from ``KAM_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_COMPLAINTS_", extra="ignore")

    service_name: str = "complaints"
    port: int = 8002
    database_url: str = "sqlite+aiosqlite:///./var/complaints.db"
