"""Settings of the notifications service (env prefix ``KAM_NOTIFICATIONS_``)."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

Language = Literal["zh-CN", "en"]


class NotificationsSettings(ServiceSettings):
    """Settings read from ``KAM_NOTIFICATIONS_*`` (platform-wide ones also from ``KAM_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    port: int = 8005
    database_url: str = "sqlite+aiosqlite:///./var/notifications.db"
    # Every message links to the object in the web console: ``{console_base_url}/complaints/{id}`` …
    console_base_url: str = "http://127.0.0.1:8000/console"
    default_language: Language = "zh-CN"
    # An event older than this when it is consumed updates the projections but notifies nobody (a fresh
    # installation reads the streams from their start; nobody wants last quarter's reminders). 0: never stale.
    stale_event_hours: float = Field(default=24.0, ge=0)
    # The owner's supervisor: the supervisor of the owner's team (teams API); with no team supervisor,
    # "role" tells every active user holding the supervisor role, "none" tells nobody.
    supervisor_fallback: Literal["role", "none"] = "role"

    # Email over SMTP. security: "starttls" upgrades a plain connection, "tls" is implicit TLS (port 465).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_validate_certs: bool = True
    smtp_ca_file: str | None = None  # a CA bundle for a private mail relay's certificate
    smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    smtp_from: str = "KA 平台 <noreply@kam.example>"
    email_enabled: bool = True
    # Whether this process runs the delivery worker (off: deliveries wait for a replica that does, or a test's call).
    delivery_worker: bool = True

    # Delivery queue: how often the worker looks, how much it takes, how long a claim holds, how hard it tries.
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    delivery_batch_size: int = Field(default=50, ge=1, le=1000)
    delivery_concurrency: int = Field(default=10, ge=1, le=200)
    delivery_lease_seconds: float = Field(default=120.0, gt=0)
    delivery_max_attempts: int = Field(default=8, ge=1, le=100)
    # Exponential back-off: base × 2^(attempt-1), capped, with jitter (a random share of the delay taken off).
    retry_base_seconds: float = Field(default=5.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    retry_jitter: float = Field(default=0.5, ge=0, le=1)
    http_timeout_seconds: float = Field(default=10.0, gt=0)

    # The daily digest of what quiet hours or a user's choice held back: local time (company zone) by default.
    digest_time: time = time(8, 30)
    digest_poll_seconds: float = Field(default=60.0, gt=0)
    # Webhook signatures older than this are to be refused by receivers (stated in the docs and the test endpoint).
    webhook_tolerance_seconds: int = Field(default=300, ge=1)

    @field_validator("smtp_username", "smtp_password", "smtp_ca_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value  # compose passes an unset variable as ""

    @model_validator(mode="after")
    def _smtp_credentials_together(self) -> NotificationsSettings:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("smtp_username and smtp_password: set both or neither")
        if self.environment == "production" and self.smtp_username and self.smtp_security == "none":
            raise ValueError("smtp_security: credentials are never sent without TLS in production")
        return self
