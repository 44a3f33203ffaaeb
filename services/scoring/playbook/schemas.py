"""Request and response bodies of the playbook: quadrant configuration, rule table, catalogue, an account's strategy."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from services.scoring.quadrant import QuadrantCode, QuadrantConfig
from services.scoring.strategy import StrategyRule
from shared.vocabulary import TierCode


class StoredDocument(BaseModel):
    """Who last changed a stored strategy document (version 0 and no one: the defaults, never changed)."""

    version: int
    is_default: bool
    updated_by: str | None
    updated_at: datetime | None


class QuadrantConfigRead(StoredDocument):
    """The quadrant configuration in force."""

    config: QuadrantConfig


class RuleTableRead(StoredDocument):
    """The strategy rules in force, in the order they are tried."""

    rules: list[StrategyRule]


class CatalogueLineRead(BaseModel):
    """A product line as scoring knows it."""

    name: str
    active: bool
    description: str | None = None


class CatalogueRead(BaseModel):
    """The product catalogue white space is counted against: goals' (as last announced) or the setting's."""

    source: Literal["goals", "setting"]
    as_of: datetime | None
    lines: list[CatalogueLineRead]


class ComponentRead(BaseModel):
    """One input of an axis as it counted (``value`` None: no data under the model in force)."""

    source: Literal["dimension", "indicator"]
    code: str
    label_zh: str
    label_en: str
    weight: Decimal
    value: Decimal | None


class AxisRead(BaseModel):
    """An axis: its score (weighted mean of its inputs), cut-off and level."""

    score: Decimal | None
    cutoff: Decimal
    level: Literal["high", "low"] | None
    components: list[ComponentRead]
    note_en: str | None = None
    note_zh: str | None = None


class QuadrantRead(BaseModel):
    """Where the account stands on value × potential (``code`` None: not scored yet)."""

    code: QuadrantCode | None
    label_zh: str | None
    label_en: str | None
    value: AxisRead
    potential: AxisRead
    cutoffs_from: str
    config_version: int


class GrowthRead(BaseModel):
    """Purchases growth measured from the actuals (what potential and the growth signal use) beside the
    self-reported expectation, and the signals the rules see."""

    measured_pct: Decimal | None
    annual_purchases: Decimal
    previous_year_purchases: Decimal
    expected_pct: Decimal | None
    high_growth: bool
    declining: bool
    industry_leader: bool
    explanation_en: str
    explanation_zh: str


class RuleRef(BaseModel):
    """The rule that gave the strategy."""

    position: int
    code: str
    rules_version: int


class AccountStrategyRead(BaseModel):
    """An account's recommended strategy (from the rule table), its quadrant and growth, and white space."""

    account_id: str
    tier: TierCode | None
    status: str
    code: str
    title_zh: str
    title_en: str
    reason: str
    reason_zh: str
    actions: list[str]
    actions_en: list[str]
    rule: RuleRef
    quadrant: QuadrantRead
    growth: GrowthRead
    product_lines_bought: list[str]
    white_space: list[str]
    unknown_product_lines: list[str]
    catalogue_source: Literal["goals", "setting"]
