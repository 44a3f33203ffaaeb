"""Response bodies of the portfolio's lists: tier movers netted per account with their totals, the tier
distribution with each tier's share of accounts and of purchases (per currency), and an account's score history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.api import MoneyStr
from shared.vocabulary import TierCode


class NetMover(BaseModel):
    """An account whose effective tier at the end of the period differs from the one it had at its start."""

    account_id: str
    account_name: str
    from_tier: TierCode | None = Field(description="The tier at the start of the period (None: it had none yet)")
    to_tier: TierCode = Field(description="The tier at the end of the period")
    direction: Literal["up", "down", "new"]
    changes: int = Field(description="Tier changes of the account within the period (netted into this one move)")
    last_changed_at: datetime


class MoverTotals(BaseModel):
    """How many accounts moved up, down or got their first tier; ``net`` = up − down."""

    up: int
    down: int
    new: int
    net: int


class NetMovers(BaseModel):
    """Tier movers of the period [``since``, ``until``), each account once, latest move first, with the totals."""

    since: datetime
    until: datetime | None = Field(description="The end, exclusive (None: up to now)")
    totals: MoverTotals
    total: int = Field(description="Movers in all (the items are one page of them)")
    limit: int
    offset: int
    items: list[NetMover]


class TierPurchases(BaseModel):
    """A tier's purchases of the last 12 months in one currency, and its share of that currency's total."""

    currency: str
    amount: MoneyStr
    share_pct: Decimal | None = Field(description="% of the portfolio's purchases in this currency (None: total 0)")


class TierShare(BaseModel):
    """One tier (code None: not scored yet): its active accounts, their share and average score, its purchases."""

    code: TierCode | None
    label_zh: str
    label_en: str
    count: int
    share_pct: Decimal | None = Field(description="% of the active accounts (None: there are none)")
    average_score: Decimal | None
    purchases: list[TierPurchases] = Field(description="Per currency, never converted or added across")


class CurrencyTotal(BaseModel):
    """The portfolio's purchases of the last 12 months in one currency."""

    currency: str
    amount: MoneyStr


class TierDistributionRead(BaseModel):
    """Active accounts per tier with their share of accounts and of purchases (months ending ``period``)."""

    total: int
    period: str = Field(description="The business month the 12-month purchase window ends with")
    purchases: list[CurrencyTotal]
    tiers: list[TierShare]


class ScorePointRead(BaseModel):
    """One point of an account's score history."""

    model_config = ConfigDict(from_attributes=True)

    score: Decimal | None
    tier: TierCode | None
    computed_tier: TierCode | None
    model_version: int | None
    recorded_at: datetime
