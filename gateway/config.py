"""Settings of the gateway (env prefix ``KAM_GATEWAY_``)."""

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.db import SQLITE_LOCK_BUDGET_SECONDS
from shared.settings import PRODUCTION_REQUIRED, ServiceSettings
from shared.vocabulary import SERVICE_NAMES

# Services the gateway proxies besides those whose sections it composes (SERVICE_NAMES): they have a public API
# under /api/v1/<name>/… but no part in the account views. Each is proxied once its URL is configured.
PROXIED_EXTRAS: tuple[str, ...] = ("notifications",)
KNOWN_SERVICES: tuple[str, ...] = (*SERVICE_NAMES, *PROXIED_EXTRAS)
# An upstream call waits at least this much longer than a service's own lock budget: a write held up by the
# database lock is then answered by the service itself (503, nothing stored) before the gateway would have to
# answer 504 (outcome unknown). docs/gateway.md, "Timeouts".
UPSTREAM_TIMEOUT_MARGIN_SECONDS = 1.0


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
    # None: not deployed (its routes answer 503); `kam up` and compose set it.
    notifications_url: str | None = Field(default=None, json_schema_extra=PRODUCTION_REQUIRED)

    # Tokens
    access_token_ttl_seconds: int = Field(default=900, ge=10)
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=60)
    api_key_token_ttl_seconds: int = Field(default=60, ge=10)
    # API keys (docs/gateway.md "API keys"): a key without an explicit expiry lives the default lifetime; none may
    # live longer than the maximum; a rotation keeps the replaced secret working for the grace period.
    api_key_default_lifetime_days: int = Field(default=90, ge=1)
    api_key_max_lifetime_days: int = Field(default=365, ge=1)
    api_key_rotation_grace_seconds: int = Field(default=24 * 3600, ge=0)
    api_key_max_rotation_grace_seconds: int = Field(default=7 * 24 * 3600, ge=0)
    # How long the gateway trusts what it read of a user (active, roles) before reading it again: a change made in
    # this process or announced by an identity event holds at once, any other change within this bound.
    user_check_seconds: float = Field(default=1.0, gt=0, le=60)

    # Argon2id cost of password hashes (RFC 9106's second recommended option by default)
    password_time_cost: int = Field(default=3, ge=1)
    password_memory_kib: int = Field(default=65536, ge=1024)

    # Upstream calls: a default timeout, per-service overrides, and a tighter budget for composed views. The
    # services' lock budget (shared.db.SQLITE_LOCK_BUDGET_SECONDS) bounds them from below (see the validator).
    service_lock_budget_seconds: float = Field(default=SQLITE_LOCK_BUDGET_SECONDS, gt=0)
    upstream_timeout_seconds: float = Field(default=2 * SQLITE_LOCK_BUDGET_SECONDS, gt=0)
    upstream_timeouts: dict[str, float] = Field(default_factory=dict)
    view_timeout_seconds: float = Field(default=0.6, gt=0)
    read_retries: int = Field(default=1, ge=0, le=5)
    breaker_failure_threshold: int = Field(default=3, ge=1)
    breaker_reset_seconds: float = Field(default=5.0, gt=0)
    health_probe_seconds: float = Field(default=0.5, gt=0)
    openapi_refresh_seconds: float = Field(default=5.0, gt=0)

    # Composed-view cache: invalidated at once by writes through the gateway and by the services' events; the TTL
    # bounds staleness even for changes a service makes without an event (the 100 ms promise), and hot entries
    # are refreshed in the background before they expire.
    cache_enabled: bool = True
    cache_ttl_seconds: float = Field(default=0.1, ge=0)
    cache_refresh_after_seconds: float = Field(default=0.08, ge=0)
    cache_reinvalidate_after_seconds: tuple[float, ...] = (0.05, 0.25, 1.0)

    # Edge: rate limits and login throttling, shared by every replica through the database (gateway.limits).
    rate_limit_per_minute: int = Field(default=3000, ge=1)
    rate_limit_burst: int = Field(default=500, ge=1)
    # Tokens of the API limit a replica takes from the shared bucket at once (capped at a tenth of the burst); a
    # caller may get at most replicas × lease above the limit, and the unused rest lapses after lease_seconds.
    rate_limit_lease: int = Field(default=10, ge=1)
    rate_limit_lease_seconds: float = Field(default=2.0, gt=0, le=60)
    login_rate_limit_per_minute: int = Field(default=30, ge=1)  # login and refresh attempts per client address
    # Failed logins per account (whatever the client address): 429 once the burst is spent, then this many a minute.
    login_account_rate_limit_per_minute: int = Field(default=6, ge=1)
    login_account_burst: int = Field(default=5, ge=1)
    # The customer survey page (/s/{token}, no login): requests per client address.
    survey_rate_limit_per_minute: int = Field(default=60, ge=1)
    survey_rate_limit_burst: int = Field(default=20, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    # Bulk uploads (CSV imports) are streamed to their service, not buffered, under their own larger limit; the
    # console's import form is one too (its file is spooled to disk, then streamed on).
    bulk_upload_paths: list[str] = Field(default_factory=lambda: ["/api/v1/goals/imports", "/console/imports"])
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1)
    upload_timeout_seconds: float = Field(default=600.0, gt=0)
    cors_origins: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _timeouts_outlast_the_services_lock_budget(self) -> Self:
        floor = self.service_lock_budget_seconds + UPSTREAM_TIMEOUT_MARGIN_SECONDS
        for name, timeout in {
            "upstream_timeout_seconds": self.upstream_timeout_seconds,
            **self.upstream_timeouts,
        }.items():
            if timeout < floor:
                raise ValueError(
                    f"upstream timeout {name}={timeout}: must be at least the services' lock budget "
                    f"({self.service_lock_budget_seconds} s) + {UPSTREAM_TIMEOUT_MARGIN_SECONDS} s, or writes waiting "
                    "on a lock would be answered 504 (outcome unknown) instead of the service's own 503"
                )
        return self

    @model_validator(mode="after")
    def _api_key_defaults_within_their_maximums(self) -> Self:
        if self.api_key_default_lifetime_days > self.api_key_max_lifetime_days:
            raise ValueError("api_key_default_lifetime_days: must not exceed api_key_max_lifetime_days")
        if self.api_key_rotation_grace_seconds > self.api_key_max_rotation_grace_seconds:
            raise ValueError("api_key_rotation_grace_seconds: must not exceed api_key_max_rotation_grace_seconds")
        return self

    def service_url(self, service: str) -> str:
        """Base URL of one service."""
        return str(getattr(self, f"{service}_url"))

    def proxied_services(self) -> tuple[str, ...]:
        """The services this gateway proxies: every composed one, and the extras whose URL is configured."""
        return (*SERVICE_NAMES, *(name for name in PROXIED_EXTRAS if getattr(self, f"{name}_url", None)))

    def timeout_for(self, service: str) -> float:
        """The upstream timeout of one service."""
        return float(self.upstream_timeouts.get(service, self.upstream_timeout_seconds))
