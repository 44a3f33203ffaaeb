"""The goals service's sections of the composed views (account overview and portfolio board).

Money amounts are decimal strings as the goals API writes them (two places when exact in cents, else four);
``None`` where there is no figure (no actual yet, no positive target).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from shared.views.base import ViewModel

TargetStatus = Literal["draft", "approved"]
ForecastMethod = Literal["seasonal", "run_rate", "actual", "plan", "parts"]


class GoalsTargetLine(ViewModel):
    """One of the account's targets of the current year, quarter or month, and where it stands."""

    id: str
    metric: str  # "custom:<name>" for custom metrics
    period: str
    product_line: str | None
    status: TargetStatus
    target_value: str
    stretch_value: str | None
    unit: str
    actual: str | None
    forecast: str | None
    forecast_method: ForecastMethod | None
    attainment_pct: str | None
    forecast_attainment_pct: str | None
    gap: str | None
    at_risk: bool
    achieved: bool
    red_alert: bool


class GoalsOverdueActionItem(ViewModel):
    """An open or in-progress action item past its due date."""

    id: str
    target_id: str
    title: str
    owner_id: str
    due_date: date
    status: Literal["open", "in_progress"]


class GoalsPlanSummary(ViewModel):
    """The account's plan for the current fiscal year (its working version)."""

    id: str
    year: int
    title: str
    status: Literal["draft", "submitted", "approved", "archived"]
    plan_version: int
    approved_at: str | None  # RFC 3339
    next_review_on: date | None


class GoalsProjectPartLine(ViewModel):
    """A department's part of a cross-department project that is overdue."""

    id: str
    department: str
    title: str
    owner_id: str
    due_on: date
    status: Literal["open", "in_progress", "rejected"]


class GoalsProjectLine(ViewModel):
    """A cross-department project of the account: progress = accepted parts ÷ parts not cancelled × 100."""

    id: str
    title: str
    progress_pct: str | None
    parts_total: int
    parts_accepted: int
    overdue_parts: list[GoalsProjectPartLine]


class GoalsAccountView(ViewModel):
    """The goals section of the account overview (GET /goals/views/accounts/{account_id})."""

    account_id: str
    name: str
    tier: str | None
    owner_id: str | None
    periods: list[str]  # the current fiscal year, month and quarter, sorted
    red_alert: bool
    currency: str
    targets: list[GoalsTargetLine]
    overdue_action_items: list[GoalsOverdueActionItem]  # at most 50, oldest due date first
    plan: GoalsPlanSummary | None = None  # added: the current fiscal year's account plan
    projects: list[GoalsProjectLine] = []  # added: the 20 newest cross-department projects


class GoalsTierAttainment(ViewModel):
    """Revenue attainment of one tier's approved top-level revenue targets this fiscal year."""

    tier: str
    target: str
    actual: str
    attainment_pct: str | None


class GoalsManagerAttainment(ViewModel):
    """Revenue attainment of one account manager's accounts this fiscal year."""

    owner_id: str
    target: str
    actual: str
    attainment_pct: str | None


class GoalsAtRiskTarget(ViewModel):
    """A target whose forecast falls short of the at-risk threshold."""

    id: str
    account_id: str | None
    account_name: str
    metric: str
    period: str
    target_value: str
    forecast: str | None
    at_risk_since: str | None  # RFC 3339


class GoalsPortfolioView(ViewModel):
    """The goals section of the portfolio board (GET /goals/views/portfolio)."""

    period: str
    currency: str
    revenue_attainment_by_tier: list[GoalsTierAttainment]
    revenue_attainment_by_account_manager: list[GoalsManagerAttainment]
    at_risk_targets_count: int
    at_risk_targets: list[GoalsAtRiskTarget]  # the 20 most recent
    overdue_action_items_count: int
