"""Settings of the goals service (env prefix ``KAM_GOALS_``)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.goals.periods import FiscalCalendar
from shared.money import DEFAULT_CURRENCY, CurrencyCode
from shared.settings import ServiceSettings
from shared.vocabulary import DEFAULT_PRODUCT_LINES


class GoalsSettings(ServiceSettings):
    """Settings read from ``KAM_GOALS_*`` (platform-wide ones also from ``KAM_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_GOALS_", extra="ignore")

    service_name: str = "goals"
    port: int = 8004
    database_url: str = "sqlite+aiosqlite:///./var/goals.db"
    # The currency every account's targets and actuals are kept in unless the account has its own (API).
    reporting_currency: CurrencyCode = DEFAULT_CURRENCY
    # The product lines we offer (denominator of product penetration); scoring uses the same default.
    product_lines: list[str] = Field(default_factory=lambda: list(DEFAULT_PRODUCT_LINES))
    # First month of the fiscal year; fiscal year N starts in that month of calendar year N.
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    # A target is at risk when its forecast attains less than this share of the target.
    at_risk_threshold_pct: Decimal = Field(default=Decimal(90), gt=0, le=100)
    # An open action item is announced due (goals.action_item_due) once its due date is this many days away or
    # fewer (business dates in the company's zone); 0: only on the day itself.
    action_item_due_days: int = Field(default=3, ge=0, le=90)
    # The departments a cross-department project (跨部门协同) asks for parts from: marketing (customised promotion),
    # product (feature iteration), after-sales (dedicated service).
    project_departments: list[str] = Field(default_factory=lambda: ["marketing", "product", "after_sales"])
    # Seasonal distribution templates: 12 weights, first fiscal month first.
    seasonal_templates: dict[str, list[Decimal]] = Field(
        default_factory=lambda: {
            # Industrial buyers: slow around Spring Festival, strong at quarter and year ends.
            "industrial": [Decimal(w) for w in (6, 5, 8, 8, 8, 9, 8, 8, 9, 9, 10, 12)],
            "even": [Decimal(1)] * 12,
        }
    )
    # Team scorecard (绩效考核): weights of the components and how they are scored.
    scorecard_weights: dict[str, Decimal] = Field(
        default_factory=lambda: {
            "revenue_attainment": Decimal("0.35"),
            "margin_attainment": Decimal("0.25"),
            "sla_compliance": Decimal("0.15"),
            "satisfaction": Decimal("0.15"),
            "at_risk_targets": Decimal("0.10"),
        }
    )
    attainment_cap_pct: Decimal = Field(default=Decimal(120), gt=0)
    at_risk_penalty_points: Decimal = Field(default=Decimal(20), ge=0)
    # CSV import: rows per insert batch, largest accepted upload, where uploads are spooled.
    import_batch_size: int = Field(default=50000, ge=100, le=50000)
    import_max_bytes: int = Field(default=2 * 1024**3, ge=1024)
    import_spool_dir: str = "./var/imports"


def calendar_of(settings: GoalsSettings) -> FiscalCalendar:
    """The fiscal calendar these settings configure."""
    return FiscalCalendar(settings.fiscal_year_start_month)
