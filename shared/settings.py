"""Settings shared by every service and the gateway (pydantic-settings, one env prefix per service)."""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from shared.clock import DEFAULT_BUSINESS_ZONE, business_zone

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me-0123456789"

# Settings that every process shares; they may also be given once as KAM_<NAME> instead of per service.
PLATFORM_WIDE = frozenset(
    {"nats_url", "jwt_secret", "jwt_audience", "jwt_issuer", "environment", "log_level", "timezone"}
)


class _PlatformWideSource(EnvSettingsSource):
    """Reads KAM_<NAME> for the platform-wide settings only (never database URLs)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name not in PLATFORM_WIDE:
            return None, field_name, False
        return super().get_field_value(field, field_name)


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it with its own ``env_prefix`` (e.g. ``KAM_SCORING_``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_SERVICE_", extra="ignore")

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    # The company's zone (KAM_TIMEZONE): business dates — today, due dates, periods, aging, expiry — are counted here.
    timezone: str = DEFAULT_BUSINESS_ZONE
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "sqlite+aiosqlite:///./var/service.db"
    database_echo: bool = False
    run_migrations: bool = True
    nats_url: str = "nats://127.0.0.1:4222"
    nats_enabled: bool = True
    jwt_secret: str = DEV_JWT_SECRET
    jwt_audience: str = "kam"
    jwt_issuer: str = "kam-gateway"
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    relay_batch_size: int = Field(default=200, ge=1, le=5000)
    relay_poll_seconds: float = Field(default=0.25, gt=0)
    consumer_batch_size: int = Field(default=64, ge=1, le=1000)
    consumer_max_attempts: int = Field(default=5, ge=1, le=100)
    consumer_retry_delay_seconds: float = Field(default=0.2, ge=0)
    consumer_ack_wait_seconds: float = Field(default=30.0, gt=0)
    timer_interval_seconds: float = Field(default=30.0, gt=0)
    max_page_size: int = Field(default=500, ge=1)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        platform = _PlatformWideSource(settings_cls, env_prefix="KAM_")
        return init_settings, env_settings, platform, dotenv_settings, file_secret_settings

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            business_zone(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone: {value!r} is not an IANA time zone (e.g. Asia/Shanghai)") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The company's zone as a tzinfo."""
        return business_zone(self.timezone)

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_development(self) -> ServiceSettings:
        if self.environment != "development" and self.jwt_secret == DEV_JWT_SECRET:
            raise ValueError("jwt_secret: the development secret is refused outside development; set KAM_JWT_SECRET")
        if self.environment == "production" and len(self.jwt_secret) < 32:
            raise ValueError("jwt_secret: must be at least 32 characters in production")
        return self
