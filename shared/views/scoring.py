"""The scoring service's sections of the composed views (account overview and portfolio board)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_serializer

from shared.api import MoneyStr
from shared.views.base import ViewModel
from shared.vocabulary import TierCode


def _absent(value: object) -> bool:
    return value is None


class TierLabel(ViewModel):
    """A tier code with its labels."""

    code: TierCode
    label_zh: str
    label_en: str


class AccountProfile(ViewModel):
    """An account of the registry with its current tier and score (the service's ``AccountRead``)."""

    id: str
    name: str
    name_en: str | None
    credit_code: str | None
    industry: str
    region: str
    company_size: str | None
    annual_revenue: MoneyStr | None
    currency: str
    listed: bool
    parent_group: str | None
    status: str
    owner_id: str
    team_member_ids: list[str]
    cooperation_since: date | None
    industry_leadership: Decimal | None
    reference_value: Decimal | None
    channel_value: Decimal | None
    product_fit: Decimal | None
    expected_growth_pct: Decimal | None
    ratings_rationale: str | None
    tier: TierCode | None
    tier_label: TierLabel | None
    computed_tier: TierCode | None
    overridden: bool
    score: Decimal | None
    model_version: int | None
    scored_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class AccountTeam(ViewModel):
    """The owner account manager and the team members."""

    owner_id: str
    team_member_ids: list[str]


class Contact(ViewModel):
    """A person at the customer, with the level of dialogue they stand for."""

    name: str
    title: str | None
    level: str
    email: str | None
    phone: str | None
    id: str
    account_id: str
    created_at: datetime
    # Whether its level counts for the score: confirmed, or pending / rejected (reported by an account manager).
    level_review: str = "confirmed"


class TierOverride(ViewModel):
    """A manual tier decision (reason, approver, expiry), kept for audit."""

    id: str
    account_id: str
    tier: TierCode
    reason: str
    approved_by: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None
    ended_by: str | None
    end_reason: str | None


class AccountTier(ViewModel):
    """The effective tier (labels only when there is one), the computed one and the override in force."""

    code: TierCode | None
    label_zh: str | None = Field(default=None, exclude_if=_absent)
    label_en: str | None = Field(default=None, exclude_if=_absent)
    computed: TierCode | None
    overridden: bool
    override: TierOverride | None


class ScoreDimension(ViewModel):
    """One dimension of FAQ 1: its 0–100 score, its weight and its contribution to the total."""

    dimension: str
    label_zh: str
    label_en: str
    score: Decimal
    weight: Decimal
    contribution: Decimal


class ScoreIndicator(ViewModel):
    """One indicator: raw value, normalised 0–100, weight and contribution (contributions sum to the total)."""

    code: str
    dimension: str
    label_zh: str
    label_en: str
    unit: str
    raw: Decimal | None
    normalised: Decimal
    weight: Decimal
    contribution: Decimal


class TopPercentRule(ViewModel):
    """Key accounts are exactly the top ``percent`` % of the portfolio by ``by``."""

    percent: Decimal
    by: str


class AccountScore(ViewModel):
    """The explained score of an account and why it has its tier."""

    account_id: str
    model_version: int
    total: Decimal
    computed_tier: TierCode
    tier: TierCode | None
    overridden: bool
    thresholds: dict[str, Decimal]
    top_percent: TopPercentRule | None
    explanation: str
    dimensions: list[ScoreDimension]
    indicators: list[ScoreIndicator]
    scored_at: datetime


class StrategyQuadrant(ViewModel):
    """Where the account stands on value × potential (``code`` None: not scored yet)."""

    code: str | None = None
    label_zh: str | None = None
    label_en: str | None = None


class AccountStrategy(ViewModel):
    """The recommended approach with the reason it was chosen and concrete actions, in both languages (``reason``
    and ``actions_en`` English, ``reason_zh`` and ``actions`` 中文), and the value × potential quadrant."""

    account_id: str
    tier: TierCode | None
    code: str
    title_zh: str
    title_en: str
    reason: str
    actions: list[str]
    reason_zh: str | None = None  # optional: a scoring service of before 2026-12 sends none
    actions_en: list[str] = Field(default_factory=list)
    quadrant: StrategyQuadrant | None = None


class LevelCadence(ViewModel):
    """One required level of one account: last contact, when the next is due, whether it is overdue."""

    level: str
    every_days: int
    last_contact_on: date | None
    due_on: date | None
    overdue: bool
    days_overdue: int | None  # None: never contacted at this level


class EngagementStatus(ViewModel):
    """Cadence status of one account."""

    account_id: str
    account_name: str
    tier: TierCode | None
    owner_id: str
    overdue: bool
    levels: list[LevelCadence]


class ScoringAccountView(ViewModel):
    """The scoring section of the account overview (GET /scoring/views/accounts/{account_id})."""

    account_id: str
    name: str
    profile: AccountProfile
    team: AccountTeam
    contacts: list[Contact]
    tier: AccountTier
    score: AccountScore | None  # None: never scored
    strategy: AccountStrategy
    white_space: list[str]
    product_lines_bought: list[str]
    engagement: EngagementStatus


class TierCount(ViewModel):
    """How many active accounts a tier holds (code None: not scored yet) and their average score."""

    code: TierCode | None
    label_zh: str
    label_en: str
    count: int
    average_score: Decimal | None


class TierDistribution(ViewModel):
    """Active accounts per tier."""

    total: int
    tiers: list[TierCount]


class OverdueEngagements(ViewModel):
    """How many accounts are overdue on their cadence, and the most overdue of them."""

    count: int
    items: list[EngagementStatus]


class TierMover(ViewModel):
    """One change of an account's effective tier and why."""

    id: int
    account_id: str
    old_tier: TierCode | None
    new_tier: TierCode
    score: Decimal | None
    reason: str
    model_version: int | None
    overridden: bool
    changed_by: str | None
    changed_at: datetime
    account_name: str
    direction: Literal["up", "down", "new"]


class RecentMovers(ViewModel):
    """Tier changes since a moment, newest first."""

    since: datetime
    items: list[TierMover]

    @field_serializer("since")
    def _since_as_iso(self, since: datetime) -> str:
        """``since`` as ``datetime.isoformat`` writes it (``+00:00``, as this section always has)."""
        return since.isoformat()


class ScoringPortfolioView(ViewModel):
    """The scoring section of the portfolio board (GET /scoring/views/portfolio)."""

    distribution: TierDistribution
    overdue_engagements: OverdueEngagements
    recent_movers: RecentMovers
