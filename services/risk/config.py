"""Settings of the risk service (env prefix ``KAM_RISK_``)."""

from decimal import Decimal
from itertools import pairwise

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from services.risk.credit import policy as case
from services.risk.credit.exposure import DEFAULT_DUNNING_LEVEL_DAYS, DEFAULT_FUTURE_TOLERANCE_DAYS
from shared.settings import ServiceSettings


class RiskSettings(ServiceSettings):
    """Settings read from ``KAM_RISK_*`` (platform-wide ones also from ``KAM_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_RISK_", extra="ignore")

    service_name: str = "risk"
    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///./var/risk.db"
    # Periodic jobs (contract reminders, credit watch); tests switch them off and call the job functions.
    jobs_interval_seconds: float = 3600
    # Every monthly total that arrives re-evaluates every account's share of our revenue in its own transaction up
    # to this many accounts; on a larger portfolio a total only marks the shares stale and the concentration job
    # (every ``timer_interval_seconds``) evaluates them once for all totals since — a bulk import of 10,000
    # accounts is one evaluation, not 10,000 of 10,000 accounts each.
    concentration_event_max_accounts: int = Field(default=500, ge=0)
    # The credit case (services.risk.credit.policy; dicts and lists as JSON in the environment). A limit request
    # above its currency's threshold (else the reporting currency's, converted) needs two approvals (four eyes).
    limit_approval_thresholds: dict[str, Decimal] = Field(
        default_factory=lambda: dict(case.DEFAULT_APPROVAL_THRESHOLDS)
    )
    # The periodic review date of a credit profile: months after its assessment, per grade.
    review_interval_months: dict[str, int] = Field(default_factory=lambda: dict(case.DEFAULT_REVIEW_INTERVAL_MONTHS))
    # The limit suggested per grade (profile, new limit requests), in ``suggested_limit_currency``.
    suggested_limits: dict[str, Decimal] = Field(default_factory=lambda: dict(case.DEFAULT_SUGGESTED_LIMITS))
    suggested_limit_currency: str = "CNY"
    # How many scorecard factors (supplied or derived) a grade needs.
    min_scoring_factors: int = case.DEFAULT_MIN_SCORING_FACTORS
    # The order-block rule of the credit check: grades that block or warn, and whether an open red alert blocks.
    order_block_grades: list[str] = Field(default_factory=lambda: ["E"])
    order_warn_grades: list[str] = Field(default_factory=lambda: ["D"])
    order_block_on_red_alert: bool = False
    # Invoice, credit note and payment dates may lie at most this many days after the business date today.
    future_date_tolerance_days: int = Field(default=DEFAULT_FUTURE_TOLERANCE_DAYS, ge=0, le=366)
    # Dunning levels by days past due: level n from the n-th number on (JSON list in the environment).
    dunning_level_days: list[int] = Field(default=list(DEFAULT_DUNNING_LEVEL_DAYS), min_length=1, max_length=9)

    @field_validator("dunning_level_days")
    @classmethod
    def _ascending_days(cls, value: list[int]) -> list[int]:
        """Each level starts later than the one before, from day 1 on."""
        if value[0] < 1 or any(b <= a for a, b in pairwise(value)):
            raise ValueError("dunning_level_days must be ascending days past due, starting at 1 or later")
        return value

    @model_validator(mode="after")
    def _consistent_credit_case(self) -> "RiskSettings":
        """The credit case tables are consistent (every grade listed, finite, ordered; see CasePolicy)."""
        case.case_policy(self)
        return self
