"""Settings shared by every service and the gateway (pydantic-settings, one env prefix per service)."""

from __future__ import annotations

import re
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic.config import JsonDict
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from shared.clock import DEFAULT_BUSINESS_ZONE, business_zone

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me-0123456789"

# Settings that every process shares; they may also be given once as KAM_<NAME> instead of per service.
PLATFORM_WIDE = frozenset(
    {
        "nats_url",
        "nats_user",
        "nats_password",
        "nats_stream_replicas",
        "jwt_secret",
        "jwt_audience",
        "jwt_issuer",
        "environment",
        "log_level",
        "timezone",
        "metrics_token",
        "hsts_enabled",
    }
)

# Which settings a production deployment must set (docs/DEPLOY.md; tests/platform/test_k8s.py checks every
# manifest): a field marked ``PRODUCTION_REQUIRED``, or one whose default only suits a developer's machine (a
# loopback address, a relative path, SQLite, the development JWT secret) unless marked ``PRODUCTION_OPTIONAL``.
PRODUCTION = "production"
PRODUCTION_REQUIRED: JsonDict = {PRODUCTION: "required"}
PRODUCTION_OPTIONAL: JsonDict = {PRODUCTION: "optional"}
_DEVELOPMENT_DEFAULT = re.compile(r"127\.0\.0\.1|localhost|^\./|^sqlite")


def _development_only(default: Any) -> bool:
    return default == DEV_JWT_SECRET or (isinstance(default, str) and bool(_DEVELOPMENT_DEFAULT.search(default)))


def required_in_production(settings_cls: type[BaseSettings]) -> list[str]:
    """The fields of a settings class that every production deployment must set (see above)."""
    required = []
    for name, field in settings_cls.model_fields.items():
        marker = field.json_schema_extra.get(PRODUCTION) if isinstance(field.json_schema_extra, dict) else None
        if marker == "required" or (marker != "optional" and _development_only(field.get_default())):
            required.append(name)
    return required


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
    environment: Literal["development", "test", "production"] = Field(
        default="development", json_schema_extra=PRODUCTION_REQUIRED
    )
    log_level: str = "INFO"
    # The company's zone (KAM_TIMEZONE): business dates — today, due dates, periods, aging, expiry — are counted here.
    timezone: str = DEFAULT_BUSINESS_ZONE
    host: str = Field(default="127.0.0.1", json_schema_extra=PRODUCTION_OPTIONAL)  # containers: uvicorn --host
    port: int = 8000
    database_url: str = "sqlite+aiosqlite:///./var/service.db"
    database_echo: bool = False
    run_migrations: bool = True
    nats_url: str = "nats://127.0.0.1:4222"
    nats_enabled: bool = True
    # NATS credentials (KAM_NATS_USER / KAM_NATS_PASSWORD), or given in the URL (nats://user:password@host:4222);
    # `kam up` generates the embedded server's password. Production refuses a connection without credentials.
    nats_user: str | None = Field(default=None, min_length=1, max_length=200)
    nats_password: str | None = Field(default=None, min_length=1, max_length=512, repr=False)
    # Replicas of every JetStream stream this process creates: 1 on one server (embedded, tests), 3 on a cluster.
    nats_stream_replicas: int = Field(default=1, ge=1, le=5, json_schema_extra=PRODUCTION_REQUIRED)
    jwt_secret: str = DEV_JWT_SECRET
    jwt_audience: str = "kam"
    jwt_issuer: str = "kam-gateway"
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    relay_batch_size: int = Field(default=200, ge=1, le=5000)
    relay_poll_seconds: float = Field(default=0.25, gt=0)
    # How long a relay's claim on outbox rows lasts (3 publish timeouts): a dead replica's rows are taken over then.
    relay_lease_seconds: float = Field(default=15.0, ge=1)
    consumer_batch_size: int = Field(default=64, ge=1, le=1000)
    consumer_max_attempts: int = Field(default=5, ge=1, le=100)
    consumer_retry_delay_seconds: float = Field(default=0.2, ge=0)
    # Short, with in-progress acks while a handler runs: a crashed consumer's events come back in seconds.
    consumer_ack_wait_seconds: float = Field(default=5.0, gt=0)
    # Bus upkeep (shared.bus.retention, docs/RELIABILITY.md): sent outbox rows are the republish horizon; inbox ids
    # must outlive every redelivery (the stream's 90-day max age), so a shorter inbox retention is refused.
    outbox_retention_days: float = Field(default=7.0, gt=0)
    inbox_retention_days: float = Field(default=100.0, gt=90)
    prune_interval_seconds: float = Field(default=3600.0, gt=0)
    # How long an Idempotency-Key and its kept answer live (shared.idempotency.prune_keys, in the same upkeep).
    idempotency_retention_hours: float = Field(default=24.0, gt=0.25)
    timer_interval_seconds: float = Field(default=30.0, gt=0)
    # The service's periodic jobs (timers, delivery worker, bus upkeep) run in this process. Off for a replica that
    # only serves requests while another runs the jobs, and for tests that drive the jobs themselves.
    periodic_jobs: bool = True
    max_page_size: int = Field(default=500, ge=1)
    # /metrics answers the scraper's bearer token (KAM_METRICS_TOKEN) or an admin's access token; unset, admins only.
    metrics_token: str | None = Field(default=None, min_length=16, max_length=512)
    # Strict-Transport-Security on every response: always when set (TLS terminated in front of every process),
    # else on requests a trusted proxy forwarded as HTTPS (X-Forwarded-Proto from forwarded_proto_trusted_from).
    hsts_enabled: bool = False
    forwarded_proto_trusted_from: list[str] = Field(default_factory=list)

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
        if self.environment == "production" and self.nats_enabled and not self.nats_credentials_given:
            raise ValueError(
                "nats_password: NATS needs credentials in production; set KAM_NATS_USER and KAM_NATS_PASSWORD "
                "(or put them in KAM_NATS_URL)"
            )
        return self

    @property
    def nats_credentials_given(self) -> bool:
        """Whether this process authenticates to NATS (a password in the settings or a user in the URL)."""
        return self.nats_password is not None or "@" in self.nats_url.partition("://")[2].split("/")[0]
