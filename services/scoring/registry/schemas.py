"""Request and response bodies of the KA registry: accounts, team, ratings, contacts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from services.scoring.contacts.schemas import ContactCreate, ContactRead
from services.scoring.engagement.schemas import EngagementCreate, UserId
from services.scoring.registry.models import RATING_PLACES
from shared.api import MoneyStr, RequestBody
from shared.money import DEFAULT_CURRENCY, CurrencyCode, NonNegativeAmount
from shared.vocabulary import TierCode

AccountStatus = Literal["prospect", "key_account", "former"]
CompanySize = Literal["micro", "small", "medium", "large", "enterprise"]
MAX_TEAM = 50

# A rating 0–10 and the expected growth in % a year: finite, at most 4 decimal places (stored at 4: what is
# accepted is what is stored and scored); more places are a 422 naming the field.
Rating = Annotated[
    Decimal, Field(ge=0, le=10, max_digits=2 + RATING_PLACES, decimal_places=RATING_PLACES, allow_inf_nan=False)
]
GrowthPct = Annotated[
    Decimal,
    Field(ge=-100, le=1000, max_digits=4 + RATING_PLACES, decimal_places=RATING_PLACES, allow_inf_nan=False),
]
# The company's own annual revenue: an amount that fits the column (16 whole digits, 4 places).
AnnualRevenue = Annotated[NonNegativeAmount, Field(lt=Decimal(10) ** 16)]
TeamMembers = Annotated[list[UserId], Field(max_length=MAX_TEAM)]
# Another account of the registry named in a body (a UUID; anything else is a 422 naming the field).
AccountRef = Annotated[
    str, Field(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
]
# External ERP customer codes (registry/erp_codes.py): each unique across the registry, at most 10 an account.
MAX_ERP_CODES = 10
ErpCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")]
ErpCodes = Annotated[
    list[ErpCode],
    Field(max_length=MAX_ERP_CODES, description="External ERP customer codes (a repeated code counts once)"),
]


class AccountCreate(RequestBody):
    """Register a company in the KA registry."""

    name: str = Field(min_length=1, max_length=300, description="Company name (Chinese)")
    name_en: str | None = Field(default=None, max_length=300)
    credit_code: str | None = Field(
        default=None, max_length=40, description="统一社会信用代码, 18 characters with check digit"
    )
    industry: str = Field(min_length=1, max_length=100)
    region: str = Field(min_length=1, max_length=100)
    company_size: CompanySize | None = None
    annual_revenue: AnnualRevenue | None = Field(default=None, description="The company's own annual revenue")
    currency: CurrencyCode = Field(default=DEFAULT_CURRENCY, description="ISO 4217 currency of annual_revenue")
    listed: bool = False
    parent_group: str | None = Field(default=None, max_length=300)
    parent_account_id: AccountRef | None = Field(
        default=None, description="The group (an account the caller sees) this account is a subsidiary of"
    )
    status: AccountStatus = "prospect"
    owner_id: UserId | None = Field(
        default=None, description="Owner: an active account manager or supervisor (default: the caller)"
    )
    team_member_ids: TeamMembers = Field(
        default_factory=list, description="Active account managers or supervisors working on the account"
    )
    cooperation_since: date | None = None
    erp_codes: ErpCodes = Field(default_factory=list)
    contacts: list[ContactCreate] = Field(default_factory=list, max_length=200)
    ratings: RatingsUpdate | None = Field(default=None, description="Initial qualitative ratings (supervisor)")
    engagements: list[EngagementCreate] = Field(
        default_factory=list, max_length=1000, description="Engagement history to import (e.g. from a CRM)"
    )
    confirm_not_duplicate: bool = Field(
        default=False,
        description="Register it although possible duplicates exist (a 409 lists them; the confirmation is audited)",
    )


class AccountBatch(RequestBody):
    """Many registrations in one request (an import; all or none)."""

    accounts: list[AccountCreate] = Field(min_length=1, max_length=500)


class AccountBatchRead(BaseModel):
    """The registered accounts, in request order."""

    items: list[AccountDetail]


class AccountUpdate(RequestBody):
    """Change profile fields or status (send only what changes; the team, tier and score have their own routes)."""

    name: str | None = Field(default=None, min_length=1, max_length=300)
    name_en: str | None = Field(default=None, max_length=300)
    credit_code: str | None = Field(default=None, max_length=40)
    industry: str | None = Field(default=None, min_length=1, max_length=100)
    region: str | None = Field(default=None, min_length=1, max_length=100)
    company_size: CompanySize | None = None
    annual_revenue: AnnualRevenue | None = None
    listed: bool | None = None
    parent_group: str | None = Field(default=None, max_length=300)
    parent_account_id: AccountRef | None = Field(default=None, description="The group; null detaches the account")
    status: AccountStatus | None = None
    cooperation_since: date | None = None
    erp_codes: ErpCodes | None = Field(default=None, description="Replaces the account's ERP codes ([] clears them)")
    confirm_not_duplicate: bool = Field(
        default=False,
        description="A new name or credit code that makes the account look like another registered one is refused "
        "with 409 listing the candidates; true goes ahead all the same (audited)",
    )


class TeamUpdate(RequestBody):
    """The account team: owner and members (active account managers or supervisors); a new owner is a handover."""

    owner_id: UserId
    team_member_ids: TeamMembers = Field(default_factory=list)


class RatingsUpdate(RequestBody):
    """The supervisor's qualitative ratings (0–10) and the expected growth, with a rationale (4 decimal places at
    most: what is accepted is stored and scored exactly)."""

    industry_leadership: Rating | None = None
    reference_value: Rating | None = None
    channel_value: Rating | None = None
    product_fit: Rating | None = None
    expected_growth_pct: GrowthPct | None = None
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
    company_size: CompanySize | None
    annual_revenue: MoneyStr | None
    currency: str
    listed: bool
    parent_group: str | None
    parent_account_id: str | None
    status: AccountStatus
    owner_id: str
    team_member_ids: list[str]
    cooperation_since: date | None
    erp_codes: list[str] = Field(default_factory=list)
    industry_leadership: Decimal | None
    reference_value: Decimal | None
    channel_value: Decimal | None
    product_fit: Decimal | None
    expected_growth_pct: Decimal | None
    ratings_rationale: str | None
    tier: TierCode | None
    tier_label: TierInfo | None
    computed_tier: TierCode | None
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
    pending_change_request_ids: list[str] = Field(
        default_factory=list, description="Self-reported score inputs waiting for a supervisor (not counted yet)"
    )


class HierarchyNode(BaseModel):
    """An account in a group hierarchy; ``depth`` counts the groups above it, ``children`` its subsidiaries."""

    id: str
    name: str
    tier: TierCode | None
    status: AccountStatus
    parent_account_id: str | None
    depth: int
    children: list[HierarchyNode] = Field(default_factory=list)


class AccountHierarchyRead(BaseModel):
    """Where an account stands in its group: the groups above it (top first) and the subsidiaries below it."""

    account_id: str
    top_account_id: str = Field(description="The top group (the account itself when it has no parent)")
    ancestors: list[HierarchyNode] = Field(description="The groups above the account, top first (no children)")
    tree: HierarchyNode = Field(description="The account with its subsidiaries, recursively")
    hidden_accounts: int = Field(description="Accounts of the hierarchy the caller may not see, left out")


class GroupPurchases(BaseModel):
    """The group's purchases in one currency over the 12-month window (currencies are never added)."""

    currency: str
    annual_purchases: MoneyStr
    annual_profit: MoneyStr
    previous_year_purchases: MoneyStr


class GroupScoreInputs(BaseModel):
    """The score inputs of the group as a whole (docs/scoring.md *Groups* gives the rule of each)."""

    revenue_growth: Decimal | None = Field(description="CNY purchases vs the 12 months before, %")
    stability: int = Field(description="Months of the window in which any member bought")
    product_lines: list[str]
    highest_contact_level: int
    industry_leadership: Decimal | None
    reference_value: Decimal | None
    channel_value: Decimal | None
    product_fit: Decimal | None
    expected_growth_pct: Decimal | None
    cooperation_since: date | None
    satisfaction: Decimal | None
    satisfaction_votes: int
    escalations: int
    credit_grade: str | None = Field(description="The worst grade of a member")


class GroupSummaryRead(BaseModel):
    """A group rolled up over itself and every subsidiary the caller sees."""

    account_id: str
    period: str = Field(description="The business month the 12-month window ends with")
    member_ids: list[str] = Field(description="The group and its visible subsidiaries, group first")
    subsidiaries: int
    direct_subsidiaries: int
    hidden_subsidiaries: int = Field(description="Subsidiaries the caller may not see (not rolled up)")
    subsidiary_tiers: dict[str, int] = Field(description="Subsidiaries per tier (``unassigned`` without one)")
    purchases: list[GroupPurchases] = Field(description="Per currency, never converted or added across")
    score_inputs: GroupScoreInputs


class DuplicateCheck(RequestBody):
    """A company about to be registered: is it there already?"""

    name: str = Field(min_length=1, max_length=300)
    name_en: str | None = Field(default=None, max_length=300)
    credit_code: str | None = Field(default=None, max_length=40, description="统一社会信用代码 (checked when given)")


DuplicateReason = Literal["same_name", "same_credit_code_family"]


class DuplicateCandidate(BaseModel):
    """A registered account the caller sees that may be the same company."""

    account_id: str
    name: str
    name_en: str | None
    credit_code: str | None
    status: AccountStatus
    owner_id: str
    reasons: list[DuplicateReason]


class HiddenDuplicate(BaseModel):
    """A possible duplicate the caller may not see: only why it matched (ask a supervisor)."""

    reasons: list[DuplicateReason]


class DuplicateCheckRead(BaseModel):
    """Possible duplicates (registering the company needs ``confirm_not_duplicate`` when there are any)."""

    likely_duplicate: bool
    duplicates: list[DuplicateCandidate]
    hidden_duplicates: list[HiddenDuplicate]


HistoryField = Literal[
    "name",
    "name_en",
    "credit_code",
    "industry",
    "region",
    "company_size",
    "annual_revenue",
    "currency",
    "listed",
    "parent_group",
    "parent_account_id",
    "status",
    "cooperation_since",
    "erp_codes",
    "industry_leadership",
    "reference_value",
    "channel_value",
    "product_fit",
    "expected_growth_pct",
    "ratings_rationale",
    "owner_id",
    "team_member_ids",
]


class FieldChangeRead(BaseModel):
    """One field of an account changed: who, when, from and to."""

    id: int
    account_id: str
    field: HistoryField
    old_value: Any = Field(description="The value before (dates ISO, decimals as strings)")
    new_value: Any = Field(description="The value after")
    changed_by: str
    changed_at: datetime
    approved_by: str | None = Field(description="The supervisor who approved the change (a change request)")
    change_request_id: str | None


ChangeRequestStatus = Literal["pending", "approved", "rejected"]


class StatusInfo(BaseModel):
    """A status code with its labels."""

    code: str
    label_zh: str
    label_en: str


class ChangeRequestCreate(RequestBody):
    """Self-reported score inputs asked for by an account manager (count once a KA supervisor approves them)."""

    cooperation_since: date | None = None
    industry_leadership: Rating | None = None
    reference_value: Rating | None = None
    channel_value: Rating | None = None
    product_fit: Rating | None = None
    expected_growth_pct: GrowthPct | None = None
    rationale: str | None = Field(default=None, min_length=1, max_length=4000, description="Needed for ratings")
    note: str | None = Field(default=None, max_length=4000, description="Why (for the supervisor)")


class ChangeRequestApproval(RequestBody):
    """A supervisor approves a change request."""

    note: str | None = Field(default=None, max_length=4000)


class ChangeRequestRejection(RequestBody):
    """A supervisor rejects a change request, saying why."""

    reason: str = Field(min_length=1, max_length=4000)


class ChangeRequestQuery(BaseModel):
    """Filters of the change-request list (query parameters)."""

    status: ChangeRequestStatus | None = Field(default="pending", description="Default: pending")
    account_id: str | None = Field(default=None, max_length=36)
    requested_by: str | None = Field(default=None, max_length=100)


class ChangeRequestRead(BaseModel):
    """Score inputs waiting for (or decided by) a supervisor; ``changes`` and ``previous`` map field → value."""

    id: str
    account_id: str
    account_name: str
    status: ChangeRequestStatus
    status_label: StatusInfo = Field(description="The status with its labels (中文, English)")
    changes: dict[str, Any]
    previous: dict[str, Any]
    rationale: str | None
    note: str | None
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    version: int


AccountCreate.model_rebuild()
AccountBatch.model_rebuild()
AccountBatchRead.model_rebuild()
HierarchyNode.model_rebuild()
