"""Request and response bodies of scores and tiers: explained scores, models, overrides, history, jobs, strategy."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from services.scoring.scores.models import RescoreJob, TierOverride
from services.scoring.scoring_model import ModelDefinition
from shared.api import Instant, RequestBody
from shared.clock import business_date
from shared.vocabulary import TierCode


class ScoreRead(BaseModel):
    """An explained score: dimensions and indicator contributions that sum to the total, and why the tier."""

    account_id: str
    model_version: int
    total: Decimal
    computed_tier: TierCode
    tier: TierCode | None
    overridden: bool
    thresholds: dict[str, Decimal]
    top_percent: dict[str, Any] | None
    explanation: str
    dimensions: list[dict[str, Any]]
    indicators: list[dict[str, Any]]
    scored_at: datetime
    tier_rule: dict[str, Any] | None = Field(
        default=None,
        description="The top-N % rule's part in the tier: rank of population by its measure, and whether it raised "
        "or capped the tier (label_zh / label_en)",
    )


class ModelCreate(RequestBody):
    """A new draft scoring model."""

    name: str = Field(min_length=1, max_length=200)
    notes: str | None = Field(default=None, max_length=4000)
    definition: ModelDefinition


class ModelUpdate(RequestBody):
    """A change of a draft (only the fields given change; ``notes: null`` clears the notes)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    notes: str | None = Field(default=None, max_length=4000)
    definition: ModelDefinition | None = None


class ModelRead(BaseModel):
    """A stored scoring model version (``revision``: its ETag; ``copied_from``: the version a rollback
    re-published)."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    name: str
    status: Literal["draft", "published", "retired"]
    notes: str | None
    definition: dict[str, Any]
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None
    revision: int = 1
    copied_from: int | None = None


class OverrideCreate(RequestBody):
    """Set an account's tier by hand (the caller approves it); it ends at ``expires_at`` or after the business day
    ``expires_on`` (company zone), or never."""

    tier: TierCode
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: Instant | None = Field(default=None, description="The instant the override ends (with an offset)")
    expires_on: date | None = Field(
        default=None, description="The last business day the override is in force (instead of expires_at)"
    )


class OverrideRead(BaseModel):
    """A manual tier decision, kept for audit."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    tier: TierCode
    reason: str
    approved_by: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    expires_on: date | None = Field(description="The last business day in force (company zone)")
    ended_at: datetime | None
    ended_by: str | None
    end_reason: Literal["replaced", "revoked", "expired"] | None

    @classmethod
    def of(cls, override: TierOverride, zone: ZoneInfo) -> OverrideRead:
        """An override as served, with the last business day it is in force."""
        fields = {k: getattr(override, k) for k in cls.model_fields if hasattr(override, k)}
        end = override.expires_at
        last_day = business_date(end - timedelta(microseconds=1), zone) if end is not None else None
        return cls.model_validate({**fields, "expires_on": last_day})


class TierChangeRead(BaseModel):
    """One tier change with its reason."""

    model_config = ConfigDict(from_attributes=True)

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


class MoverRead(TierChangeRead):
    """A tier change with the account's name."""

    account_name: str
    direction: Literal["up", "down", "new"]


class JobRead(BaseModel):
    """A full re-score job and its progress."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    trigger: Literal["manual", "schedule", "catch_up", "model_published"]
    status: Literal["queued", "running", "succeeded", "failed"]
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


class QueuedJobRead(JobRead):
    """The re-score job a change queued (or the one already open, which ends with the new model) and where to
    follow it."""

    location: str


class ModelPublishedRead(ModelRead):
    """The model now published and the full re-score job it started."""

    rescore_job: QueuedJobRead


class TierMoveCount(BaseModel):
    """How many accounts a draft moves from one tier to another (``from_tier`` None: never scored)."""

    from_tier: TierCode | None
    to_tier: TierCode
    count: int
    label_zh: str
    label_en: str


class PreviewMove(BaseModel):
    """One account whose computed tier a draft would change, and by how much."""

    account_id: str
    name: str
    current_tier: TierCode | None
    current_score: Decimal | None
    draft_tier: TierCode
    draft_score: Decimal
    score_delta: Decimal | None
    tier_steps: int = Field(description="Tiers up (+) or down (−); 0 for an account never scored")
    direction: Literal["up", "down", "new"]
    overridden: bool = Field(description="An active tier override keeps the effective tier whatever the model says")


class ModelPreviewRead(BaseModel):
    """What publishing a model would do to the portfolio as stored now: every account whose computed tier moves
    (biggest moves first, paged), the moves counted per from → to, and each tier's size before and after."""

    version: int
    status: Literal["draft", "published", "retired"]
    published_version: int | None
    accounts: int
    changed: int
    moves: list[TierMoveCount]
    distribution: list[dict[str, Any]]
    items: list[PreviewMove]
    total: int
    limit: int
    offset: int
