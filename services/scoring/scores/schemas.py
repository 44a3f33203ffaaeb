"""Request and response bodies of scores and tiers: explained scores, models, overrides, history, jobs, strategy."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.scoring.scores.models import RescoreJob
from services.scoring.scoring_model import ModelDefinition
from shared.vocabulary import TierCode


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

    model_config = ConfigDict(from_attributes=True)

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

    @classmethod
    def of(cls, job: RescoreJob) -> JobRead:
        """The job with its progress (a succeeded job is at 100 %, even an empty one)."""
        done = Decimal(job.done * 100) / Decimal(max(job.total, 1))
        pct = Decimal(100) if job.status == "succeeded" else done
        fields = {k: getattr(job, k) for k in cls.model_fields if hasattr(job, k)}
        return cls.model_validate({**fields, "progress_pct": pct.quantize(Decimal("0.1"))})


class TierDistribution(BaseModel):
    """How many accounts are in each tier."""

    total: int
    tiers: list[dict[str, Any]]
