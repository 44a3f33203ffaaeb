"""Typed view sections (DESIGN §2): what each service serves to the gateway for the composed views.

A service builds its section with these models (``response_model``); the gateway reads the section with the
same model. ``ACCOUNT_VIEWS`` and ``PORTFOLIO_VIEWS`` map a service's name to its model.
"""

from shared.views.base import ViewModel
from shared.views.complaints import ComplaintsAccountView, ComplaintsPortfolioView
from shared.views.goals import GoalsAccountView, GoalsPortfolioView
from shared.views.risk import RiskAccountView, RiskPortfolioView
from shared.views.scoring import ScoringAccountView, ScoringPortfolioView
from shared.views.section import (
    AccountOverview,
    AccountSections,
    AccountSummary,
    PortfolioBoard,
    PortfolioSections,
    Section,
    SectionStatus,
    section_model,
)
from shared.vocabulary import ServiceName

ACCOUNT_VIEWS: dict[ServiceName, type[ViewModel]] = {
    "scoring": ScoringAccountView,
    "complaints": ComplaintsAccountView,
    "risk": RiskAccountView,
    "goals": GoalsAccountView,
}
PORTFOLIO_VIEWS: dict[ServiceName, type[ViewModel]] = {
    "scoring": ScoringPortfolioView,
    "complaints": ComplaintsPortfolioView,
    "risk": RiskPortfolioView,
    "goals": GoalsPortfolioView,
}

__all__ = [
    "ACCOUNT_VIEWS",
    "PORTFOLIO_VIEWS",
    "AccountOverview",
    "AccountSections",
    "AccountSummary",
    "ComplaintsAccountView",
    "ComplaintsPortfolioView",
    "GoalsAccountView",
    "GoalsPortfolioView",
    "PortfolioBoard",
    "PortfolioSections",
    "RiskAccountView",
    "RiskPortfolioView",
    "ScoringAccountView",
    "ScoringPortfolioView",
    "Section",
    "SectionStatus",
    "ViewModel",
    "section_model",
]
