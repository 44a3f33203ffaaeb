"""The complaints service's sections of the composed views (account overview and portfolio board)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.views.base import ViewModel
from shared.vocabulary import Severity


class ComplaintSlaBrief(ViewModel):
    """A complaint's SLA at the time of the request (``state``: ok, warning, breached, paused or met)."""

    state: str
    next_due_at: datetime | None
    first_response_due_at: datetime | None  # None once the customer had the first response
    resolution_due_at: datetime | None
    warning: bool
    breached: bool
    paused: bool


class ComplaintBrief(ViewModel):
    """One open complaint: what it is, who owns it, how far it was escalated and its SLA."""

    complaint_id: str
    account_id: str
    title: str
    category: str
    severity: Severity
    state: str
    owner_id: str | None
    opened_at: datetime
    escalation_level: int
    sla: ComplaintSlaBrief
    # The labels (中文/English) of its codes: category (and parent), severity, state, channel — {"zh", "en"} each.
    labels: dict[str, dict[str, str] | None] = Field(default_factory=dict)


class PortfolioComplaintBrief(ComplaintBrief):
    """An open complaint on the board, with its account's name and tier."""

    account_name: str | None
    tier: str | None


class ComplaintCounts(ViewModel):
    """An account's complaints: all of them, the open ones, breached or at warning, and per state."""

    total: int
    open: int
    breached: int
    warning: int
    by_state: dict[str, int]


class SurveyStanding(ViewModel):
    """An account's satisfaction surveys: NPS (−100…100) and CSAT (1–5) of its answers, the latest answer, the
    response rate (%) of the surveys asked, and the follow-ups low scores raised that are still open."""

    nps: float | None = None
    csat: float | None = None
    last_answered_at: datetime | None = None
    asked: int = 0
    answered: int = 0
    response_rate: float | None = None
    open_follow_ups: int = 0


class ComplaintsAccountView(ViewModel):
    """The complaints section of the account overview (GET /complaints/views/accounts/{account_id})."""

    account_id: str
    name: str
    tier: str | None
    counts: ComplaintCounts
    average_satisfaction: float | None
    open_complaints: list[ComplaintBrief]
    surveys: SurveyStanding = SurveyStanding()


class ComplaintsPortfolioView(ViewModel):
    """The complaints section of the portfolio board (GET /complaints/views/portfolio)."""

    open_total: int
    open_by_severity: dict[str, int]
    breached_count: int
    warning_count: int
    breached: list[PortfolioComplaintBrief]
    at_warning: list[PortfolioComplaintBrief]
