"""Request and response bodies of the scoring API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.scoring.scoring_model import ModelDefinition
from shared.api import MoneyStr

TierCode = Literal["strategic", "key", "growth", "maintain"]
AccountStatus = Literal["prospect", "key_account", "former"]
ContactLevel = Literal["executive", "decision", "execution"]
CompanySize = Literal["micro", "small", "medium", "large", "enterprise"]
EngagementKind = Literal["visit", "executive_meeting", "business_review", "call", "workshop"]
Rating = Decimal


class ContactCreate(BaseModel):
    """A person at the customer."""

    name: str = Field(min_length=1, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    level: ContactLevel
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)


class ContactRead(ContactCreate):
    """A stored contact."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    created_at: datetime


class AccountCreate(BaseModel):
    """Register a company in the KA registry."""

    name: str = Field(min_length=1, max_length=300, description="Company name (Chinese)")
    name_en: str | None = Field(default=None, max_length=300)
    credit_code: str | None = Field(default=None, description="统一社会信用代码, 18 characters with check digit")
    industry: str = Field(min_length=1, max_length=100)
    region: str = Field(min_length=1, max_length=100)
    company_size: CompanySize | None = None
    annual_revenue: MoneyStr | None = Field(default=None, ge=0, description="The company's own annual revenue")
    currency: str = Field(default="CNY", min_length=3, max_length=3)
    listed: bool = False
    parent_group: str | None = Field(default=None, max_length=300)
    status: AccountStatus = "prospect"
    owner_id: str | None = Field(default=None, description="Owner account manager (default: the caller)")
    team_member_ids: list[str] = Field(default_factory=list)
    cooperation_since: date | None = None
    contacts: list[ContactCreate] = Field(default_factory=list)
    ratings: RatingsUpdate | None = Field(default=None, description="Initial qualitative ratings (supervisor)")
    engagements: list[EngagementCreate] = Field(
        default_factory=list, description="Engagement history to import (e.g. from a CRM)"
    )


class AccountBatch(BaseModel):
    """Many registrations in one request (an import; all or none)."""

    accounts: list[AccountCreate] = Field(min_length=1, max_length=500)


class AccountBatchRead(BaseModel):
    """The registered accounts, in request order."""

    items: list[AccountDetail]


class AccountUpdate(BaseModel):
    """Change profile fields or status (send only what changes)."""

    name: str | None = Field(default=None, min_length=1, max_length=300)
    name_en: str | None = Field(default=None, max_length=300)
    credit_code: str | None = None
    industry: str | None = Field(default=None, min_length=1, max_length=100)
    region: str | None = Field(default=None, min_length=1, max_length=100)
    company_size: CompanySize | None = None
    annual_revenue: MoneyStr | None = Field(default=None, ge=0)
    listed: bool | None = None
    parent_group: str | None = Field(default=None, max_length=300)
    status: AccountStatus | None = None
    cooperation_since: date | None = None


class TeamUpdate(BaseModel):
    """The account team: owner account manager and members."""

    owner_id: str = Field(min_length=1, max_length=100)
    team_member_ids: list[str] = Field(default_factory=list)


class RatingsUpdate(BaseModel):
    """The supervisor's qualitative ratings (0–10) and the expected growth, with a rationale."""

    industry_leadership: Decimal | None = Field(default=None, ge=0, le=10)
    reference_value: Decimal | None = Field(default=None, ge=0, le=10)
    channel_value: Decimal | None = Field(default=None, ge=0, le=10)
    product_fit: Decimal | None = Field(default=None, ge=0, le=10)
    expected_growth_pct: Decimal | None = Field(default=None, ge=-100, le=1000)
    rationale: str = Field(min_length=1, max_length=4000)


class TierInfo(BaseModel):
    """A tier code with its labels."""

    code: str
    label_zh: str
    label_en: str


class AccountRead(BaseModel):
    """An account of the registry with its current tier and score."""

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
    tier: str | None
    tier_label: TierInfo | None
    computed_tier: str | None
    overridden: bool
    score: Decimal | None
    model_version: int | None
    scored_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class AccountDetail(AccountRead):
    """An account with its contacts."""

    contacts: list[ContactRead]


class ScoreRead(BaseModel):
    """An explained score: dimensions and indicator contributions that sum to the total, and why the tier."""

    account_id: str
    model_version: int
    total: Decimal
    computed_tier: str
    tier: str | None
    overridden: bool
    thresholds: dict[str, Decimal]
    top_percent: dict[str, Any] | None
    explanation: str
    dimensions: list[dict[str, Any]]
    indicators: list[dict[str, Any]]
    scored_at: datetime


class ModelCreate(BaseModel):
    """A new draft scoring model."""

    name: str = Field(min_length=1, max_length=200)
    notes: str | None = None
    definition: ModelDefinition


class ModelRead(BaseModel):
    """A stored scoring model version."""

    version: int
    name: str
    status: str
    notes: str | None
    definition: dict[str, Any]
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None


class OverrideCreate(BaseModel):
    """Set an account's tier by hand (the caller approves it)."""

    tier: TierCode
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: datetime | None = None


class OverrideRead(BaseModel):
    """A manual tier decision, kept for audit."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    tier: str
    reason: str
    approved_by: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None
    ended_by: str | None
    end_reason: str | None


class TierChangeRead(BaseModel):
    """One tier change with its reason."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: str
    old_tier: str | None
    new_tier: str
    score: Decimal | None
    reason: str
    model_version: int | None
    overridden: bool
    changed_by: str | None
    changed_at: datetime


class MoverRead(TierChangeRead):
    """A tier change with the account's name."""

    account_name: str
    direction: Literal["up", "down", "new"]


class EngagementCreate(BaseModel):
    """Log a visit, executive meeting or business review."""

    kind: EngagementKind
    level: ContactLevel
    occurred_on: date
    participants: list[str] = Field(default_factory=list)
    notes: str | None = Field(default=None, max_length=8000)


class EngagementRead(EngagementCreate):
    """A logged engagement."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    created_by: str
    created_at: datetime


class LevelStatusRead(BaseModel):
    """Cadence of one level for one account."""

    level: str
    every_days: int
    last_contact_on: date | None
    due_on: date | None
    overdue: bool
    days_overdue: int | None


class EngagementStatusRead(BaseModel):
    """Cadence status of one account."""

    account_id: str
    account_name: str
    tier: str | None
    owner_id: str
    overdue: bool
    levels: list[LevelStatusRead]


class CadenceRule(BaseModel):
    """Days between contacts at a level for a tier."""

    tier: TierCode
    level: ContactLevel
    every_days: int = Field(ge=1, le=3650)


class CadencePolicy(BaseModel):
    """The whole cadence policy."""

    rules: list[CadenceRule]


class StrategyRead(BaseModel):
    """Recommended strategy and white space of an account."""

    account_id: str
    tier: str | None
    code: str
    title_zh: str
    title_en: str
    reason: str
    actions: list[str]
    product_lines_bought: list[str]
    white_space: list[str]


class JobRead(BaseModel):
    """A full re-score job and its progress."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    trigger: str
    status: str
    model_version: int | None
    total: int
    done: int
    progress_pct: Decimal
    tier_changes: int
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


class TierDistribution(BaseModel):
    """How many accounts are in each tier."""

    total: int
    tiers: list[dict[str, Any]]


AccountCreate.model_rebuild()
AccountBatch.model_rebuild()
AccountBatchRead.model_rebuild()
