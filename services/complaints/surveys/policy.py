"""The configurable rules of satisfaction surveys, built once from settings: link lifetime, low-score thresholds,
the company name the customer page shows, the revisit template and the company's zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from services.complaints.config import ComplaintsSettings
from shared.clock import DEFAULT_BUSINESS_ZONE

REVISIT_TEMPLATE_CODE = "complaint-revisit"


@dataclass(frozen=True)
class SurveyRules:
    """One object per app (``app.state.survey_rules``), shared by routes and the generation job."""

    link_lifetime: timedelta = timedelta(days=14)
    low_nps: int = 6
    low_csat: int = 2
    company_name: str = "KA Platform"
    revisit_template_code: str = REVISIT_TEMPLATE_CODE
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_BUSINESS_ZONE))


def survey_rules_from_settings(settings: ComplaintsSettings) -> SurveyRules:
    """The survey rules of the settings."""
    return SurveyRules(
        link_lifetime=timedelta(days=settings.survey_link_days),
        low_nps=settings.survey_low_nps,
        low_csat=settings.survey_low_csat,
        company_name=settings.survey_company_name,
        zone=settings.zone,
    )
