"""Request and response bodies of the KA registry: accounts, team, ratings, contacts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.scoring.engagement.cadence import ContactLevel
from services.scoring.engagement.schemas import EngagementCreate
from shared.api import MoneyStr
from shared.vocabulary import TierCode

AccountStatus = Literal["prospect", "key_account", "former"]
CompanySize = Literal["micro", "small", "medium", "large", "enterprise"]
SORTABLE = ("name", "score", "tier", "created_at", "updated_at", "industry", "region")


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


class AccountQuery(BaseModel):
    """Filters and order of the account list (query parameters)."""

    tier: TierCode | None = None
    owner_id: str | None = None
    industry: str | None = None
    region: str | None = None
    status: AccountStatus | None = None
    q: Annotated[str | None, Field(description="Name contains")] = None
    sort: Annotated[str | None, Field(description=f"One of {', '.join(SORTABLE)}; prefix - for descending")] = None


AccountCreate.model_rebuild()
AccountBatch.model_rebuild()
AccountBatchRead.model_rebuild()
