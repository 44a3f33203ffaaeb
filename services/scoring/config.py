"""Settings of the scoring service (env prefix ``KAM_SCORING_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings
from shared.vocabulary import DEFAULT_PRODUCT_LINES


class ScoringSettings(ServiceSettings):
    """Settings read from ``KAM_SCORING_*`` (platform-wide ones also from ``KAM_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_SCORING_", extra="ignore")

    service_name: str = "scoring"
    port: int = 8001
    database_url: str = "sqlite+aiosqlite:///./var/scoring.db"
    # The product lines we offer (white space = offered lines an account does not buy yet).
    product_lines: list[str] = Field(default_factory=lambda: list(DEFAULT_PRODUCT_LINES))
    # The scheduled full re-score: how often it is due (stored in the jobs table, so restarts keep the timer).
    scheduled_rescore: bool = True
    rescore_interval_seconds: float = Field(default=6 * 3600, gt=0)
    rescore_chunk_size: int = Field(default=2000, ge=1, le=50000)
    # An event that moves a portfolio-relative input (purchases under a percentile, profit under the profit share,
    # joining or leaving) re-scores every account in its own transaction up to this many accounts; above it the
    # event leaves the scores to the timer's catch-up job (within timer_interval_seconds), which re-scores everyone
    # once for all events since — a bulk import of 10,000 accounts is one full re-score, not 10,000.
    event_rescore_max_accounts: int = Field(default=5000, ge=0)
