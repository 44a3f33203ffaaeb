"""Request and response models of the account-plan sub-domain."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from services.goals.money import MoneyStr
from services.goals.plans.uplift import Baseline, UpliftStatus, whole_months_problem
from shared.api import RequestBody
from shared.money import NonNegativeAmount

PlanStatus = Literal["draft", "submitted", "approved", "archived"]
PlanAction = Literal["submit", "return", "revise", "archive"]
ApproverRole = Literal["supervisor", "admin"]
Text300 = Annotated[str, Field(min_length=1, max_length=300)]
SwotItem = Annotated[str, Field(min_length=1, max_length=500)]
SwotList = Annotated[list[SwotItem], Field(max_length=12)]
TargetId = Annotated[str, Field(min_length=1, max_length=36)]
ProductLine = Annotated[str, Field(min_length=1, max_length=100)]
Pct = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2, allow_inf_nan=False)]
UpliftPct = Annotated[Decimal, Field(ge=-100, le=1000, max_digits=6, decimal_places=2, allow_inf_nan=False)]
Note = Annotated[str, Field(max_length=2000)]


class Objective(RequestBody):
    """An objective of the plan, linked to targets of the same account."""

    title: Text300
    description: Note | None = None
    target_ids: list[TargetId] = Field(default_factory=list, max_length=20)


class Swot(RequestBody):
    """The SWOT analysis: four bounded lists."""

    strengths: SwotList = Field(default_factory=list)
    weaknesses: SwotList = Field(default_factory=list)
    opportunities: SwotList = Field(default_factory=list)
    threats: SwotList = Field(default_factory=list)


class ProductMixLine(RequestBody):
    """The year's target for one product line (in the plan's currency: the account's reporting currency)."""

    product_line: ProductLine
    target_amount: NonNegativeAmount
    note: Note | None = None


class DiscountBand(RequestBody):
    """A discount band: orders from ``min_order_amount`` get at most ``max_discount_pct``."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    min_order_amount: NonNegativeAmount = Decimal(0)
    max_discount_pct: Pct


class FloorPrice(RequestBody):
    """The lowest unit price of a product line (in the plan's currency)."""

    product_line: ProductLine
    floor_price: NonNegativeAmount
    unit: Annotated[str, Field(max_length=40)] | None = None


class PricingPolicy(RequestBody):
    """Discount bands, floor prices, and who may approve a deal below a band."""

    discount_bands: list[DiscountBand] = Field(default_factory=list, max_length=12)
    floor_prices: list[FloorPrice] = Field(default_factory=list, max_length=50)
    below_band_approver_role: ApproverRole = "supervisor"


class ChannelSupport(RequestBody):
    """Support given through a channel (distributor, integrator, e-commerce …)."""

    channel: Annotated[str, Field(min_length=1, max_length=100)]
    support: Annotated[str, Field(min_length=1, max_length=1000)]


class Promotion(RequestBody):
    """A promotion over whole months: budget, expected uplift, and how its uplift is measured (``uplift.py``)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    product_line: ProductLine | None = Field(default=None, description="measured on this line only; none: all")
    starts_on: date = Field(description="a business date: the first day of a month")
    ends_on: date = Field(description="a business date: the last day of a month")
    budget: NonNegativeAmount
    expected_uplift_pct: UpliftPct
    baseline: Baseline = "previous_period"

    @model_validator(mode="after")
    def _whole_months(self) -> Promotion:
        problem = whole_months_problem(self.starts_on, self.ends_on)
        if problem is not None:
            raise ValueError(problem)
        return self


class PlanContent(RequestBody):
    """The sections of a plan version."""

    objectives: list[Objective] = Field(default_factory=list, max_length=20)
    swot: Swot = Field(default_factory=Swot)
    product_mix: list[ProductMixLine] = Field(default_factory=list, max_length=50)
    pricing: PricingPolicy = Field(default_factory=PricingPolicy)
    channel_support: list[ChannelSupport] = Field(default_factory=list, max_length=30)
    promotions: list[Promotion] = Field(default_factory=list, max_length=30)
    review_dates: list[date] = Field(default_factory=list, max_length=24, description="business dates")


class PlanCreate(PlanContent):
    """A new plan (draft) of an account for a fiscal year."""

    account_id: Annotated[str, Field(min_length=1, max_length=36)]
    year: int = Field(ge=2000, le=2100)
    title: Text300


class PlanUpdate(RequestBody):
    """Changes to a draft (send ``If-Match``): each given section replaces the old one."""

    title: Text300 | None = None
    objectives: list[Objective] | None = Field(default=None, max_length=20)
    swot: Swot | None = None
    product_mix: list[ProductMixLine] | None = Field(default=None, max_length=50)
    pricing: PricingPolicy | None = None
    channel_support: list[ChannelSupport] | None = Field(default=None, max_length=30)
    promotions: list[Promotion] | None = Field(default=None, max_length=30)
    review_dates: list[date] | None = Field(default=None, max_length=24)


class PlanTransition(RequestBody):
    """A move of the plan: submit, return (to draft), revise (a new version of an approved plan), archive."""

    action: PlanAction


class ProductMixLineRead(BaseModel):
    """A product-mix line, its sales so far this plan year, and whether the account has never bought it."""

    product_line: str
    target_amount: MoneyStr
    actual: MoneyStr
    attainment_pct: MoneyStr | None
    not_bought_yet: bool
    note: str | None


class UpliftRead(BaseModel):
    """A promotion's measurement (see ``services/goals/plans/uplift.py`` for the definition)."""

    status: UpliftStatus
    months: list[str]
    baseline_months: list[str]
    promotion_sales: MoneyStr | None
    baseline_sales: MoneyStr | None
    measured_uplift_pct: MoneyStr | None


class PromotionRead(BaseModel):
    """A promotion with its measured uplift."""

    name: str
    product_line: str | None
    starts_on: date
    ends_on: date
    budget: MoneyStr
    expected_uplift_pct: Decimal
    baseline: Baseline
    measurement: UpliftRead


class ContactLine(BaseModel):
    """A customer contact on the relationship map."""

    contact_id: str
    name: str
    title: str | None


class RelationshipLevel(BaseModel):
    """The contacts of one level (executive, decision, execution …)."""

    level: str
    contacts: list[ContactLine]


class PlanProjectLine(BaseModel):
    """A cross-department project of the account and its progress."""

    id: str
    title: str
    progress_pct: MoneyStr | None
    parts: int
    accepted_parts: int
    overdue_parts: int


class PlanRead(BaseModel):
    """An account plan's working version as the API shows it."""

    id: str
    account_id: str
    account_name: str
    year: int
    title: str
    currency: str
    status: PlanStatus
    plan_version: int
    objectives: list[Objective]
    swot: Swot
    product_mix: list[ProductMixLineRead]
    pricing: PricingPolicy
    channel_support: list[ChannelSupport]
    promotions: list[PromotionRead]
    review_dates: list[date]
    next_review_on: date | None
    relationship_map: list[RelationshipLevel]
    projects: list[PlanProjectLine]
    created_by: str
    submitted_by: str | None
    submitted_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class PlanListItem(BaseModel):
    """A plan in a list."""

    id: str
    account_id: str
    year: int
    title: str
    status: PlanStatus
    plan_version: int
    approved_at: datetime | None
    updated_at: datetime


class PlanVersionRead(BaseModel):
    """A version of a plan: every approved one (kept unchanged) and the working one."""

    plan_version: int
    state: Literal["approved", "superseded", "working"]
    title: str
    content: PlanContent
    approved_by: str | None
    approved_at: datetime | None
    superseded_at: datetime | None


class ReviewDue(BaseModel):
    """A plan review falling due."""

    plan_id: str
    account_id: str
    title: str
    review_on: date
