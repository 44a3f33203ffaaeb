"""The documents the gateway composes from the services' typed sections: the account overview and the portfolio.

Each section carries its service's view model (``ACCOUNT_VIEWS`` / ``PORTFOLIO_VIEWS``) as ``data`` when the
service answered with a valid section, and says why not otherwise.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel

from shared.views.base import ViewModel
from shared.views.complaints import ComplaintsAccountView, ComplaintsPortfolioView
from shared.views.goals import GoalsAccountView, GoalsPortfolioView
from shared.views.risk import RiskAccountView, RiskPortfolioView
from shared.views.scoring import ScoringAccountView, ScoringPortfolioView
from shared.vocabulary import ServiceName

ViewT = TypeVar("ViewT", bound=ViewModel)
SectionStatus = Literal["ok", "unavailable", "not_found"]


class Section(BaseModel, Generic[ViewT]):
    """One service's part of a composed view: ``ok`` with its data, or ``unavailable``/``not_found`` and why."""

    status: SectionStatus
    data: ViewT | None = None
    reason: str | None = None


def section_model(view: type[ViewT]) -> type[Section[ViewT]]:
    """``Section[view]`` for a view model chosen at run time (pydantic makes each parametrised class once)."""
    model: type[Section[ViewT]] = Section[view]  # type: ignore[valid-type]  # mypy cannot subscript by a variable
    return model


class AccountSummary(BaseModel):
    """The account as the gateway's accounts projection knows it."""

    account_id: str
    name: str
    name_en: str | None
    industry: str | None
    region: str | None
    status: str | None
    tier: str | None
    owner_id: str | None
    team_member_ids: list[str]


class AccountSections(BaseModel):
    """The account overview's sections, one per service (in the order of ``SERVICE_NAMES``)."""

    scoring: Section[ScoringAccountView]
    complaints: Section[ComplaintsAccountView]
    risk: Section[RiskAccountView]
    goals: Section[GoalsAccountView]


class AccountOverview(BaseModel):
    """The account 360: the account as the gateway knows it plus each service's section."""

    account_id: str
    account: AccountSummary | None
    sections: AccountSections
    unavailable: list[ServiceName]


class PortfolioSections(BaseModel):
    """The portfolio board's sections, one per service (in the order of ``SERVICE_NAMES``)."""

    scoring: Section[ScoringPortfolioView]
    complaints: Section[ComplaintsPortfolioView]
    risk: Section[RiskPortfolioView]
    goals: Section[GoalsPortfolioView]


class PortfolioBoard(BaseModel):
    """The supervisor's board (an account manager's own book): each service's section."""

    scope: Literal["portfolio", "own"]
    sections: PortfolioSections
    unavailable: list[ServiceName]
