"""Settings of the gateway (env prefix ``KAM_GATEWAY_``)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """Settings read from ``KAM_GATEWAY_*`` (platform-wide ones also from ``KAM_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    port: int = 8000
    database_url: str = "sqlite+aiosqlite:///./var/gateway.db"
    scoring_url: str = "http://127.0.0.1:8001"
    complaints_url: str = "http://127.0.0.1:8002"
    risk_url: str = "http://127.0.0.1:8003"
    goals_url: str = "http://127.0.0.1:8004"
