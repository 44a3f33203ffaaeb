"""HTTP routes of scoring across the portfolio: indicators, full re-score jobs, tier distribution and movers (model
versions: ``model_routes``)."""

from __future__ import annotations

from datetime import timedelta
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request

from services.scoring.deps import Actor, At, Job, Paging, Supervisor
from services.scoring.jobs import run_rescore
from services.scoring.models import platform
from services.scoring.scores import rescore_jobs, tiers
from services.scoring.scores.list_schemas import NetMovers, TierDistributionRead
from services.scoring.scores.schemas import JobRead, MoverRead
from services.scoring.scoring_model import DIMENSIONS, INDICATORS
from shared.api import Instant, check_range
from shared.clock import start_of_business_day
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep
from shared.vocabulary import TIER_LABELS

router = APIRouter(responses=PROBLEM_RESPONSES)
SCORING: list[str | Enum] = ["scoring"]
MOVERS_DAYS = 30


@router.get("/scoring/indicators", tags=SCORING, summary="Known indicators and dimensions")
async def get_indicators(actor: Actor) -> dict[str, Any]:
    """What a model may use: the four dimensions of FAQ 1, their indicators, and the tiers."""
    return {
        "dimensions": [{"code": c, "label_zh": z, "label_en": e} for c, (z, e) in DIMENSIONS.items()],
        "indicators": [i.__dict__ for i in INDICATORS.values()],
        "tiers": [{"code": c, "label_zh": z, "label_en": e} for c, (z, e) in TIER_LABELS.items()],
    }


@router.post(
    "/scoring/jobs/rescore", status_code=202, response_model=JobRead, tags=SCORING, summary="Start a full re-score"
)
async def post_rescore_job(
    request: Request, background: BackgroundTasks, session: SessionDep, clock: ClockDep, actor: Supervisor
) -> JobRead:
    """Queue a re-score of every account (or return the one already running); poll its progress."""
    job, new = await rescore_jobs.request_rescore(session, trigger="manual", actor_id=actor.user_id, now=clock.now())
    if new:
        background.add_task(run_rescore, request.app, job.id)
    return JobRead.of(job)


@router.get("/scoring/jobs/{job_id}", response_model=JobRead, tags=SCORING, summary="Progress of a re-score job")
async def get_rescore_job(job: Job) -> JobRead:
    """Status, accounts done of total, tier changes."""
    return JobRead.of(job)


@router.get(
    "/scoring/tiers/distribution", response_model=TierDistributionRead, tags=SCORING, summary="Tier distribution"
)
async def get_distribution(session: SessionDep, at: At, actor: Actor) -> TierDistributionRead:
    """How many active accounts each tier holds (the caller's visible portfolio), their share, and each tier's
    purchases of the last 12 months per currency with its share of that currency's total (never added across)."""
    return await tiers.tier_shares(session, platform, actor=actor, at=at)


@router.get("/scoring/tiers/movers", response_model=list[MoverRead], tags=SCORING, summary="Tier movers since a date")
async def get_movers(
    session: SessionDep,
    at: At,
    actor: Actor,
    since: Annotated[
        Instant | None,
        Query(description="An instant with its offset; default: the start of the business day 30 days ago"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MoverRead]:
    """Tier changes since a moment, newest first (new = first tier of an account)."""
    since = since or start_of_business_day(at.today - timedelta(days=MOVERS_DAYS), at.zone)
    return await tiers.tier_movers(session, platform, actor=actor, since=since, limit=limit)


@router.get(
    "/scoring/tiers/movers/net", response_model=NetMovers, tags=SCORING, summary="Tier movers netted per account"
)
async def get_net_movers(
    session: SessionDep,
    at: At,
    actor: Actor,
    page: Paging,
    since: Annotated[
        Instant | None, Query(description="Start (with offset); default: the start of the business day 30 days ago")
    ] = None,
    until: Annotated[Instant | None, Query(description="End, exclusive (with offset); default: up to now")] = None,
) -> NetMovers:
    """Each account whose tier at the end of the period differs from its tier at the start, once (from → to,
    up/down/new), latest first; with the totals up, down, new and net (up − down)."""
    since = since or start_of_business_day(at.today - timedelta(days=MOVERS_DAYS), at.zone)
    check_range(since, until, field="since")
    return await tiers.net_movers(session, platform, actor=actor, since=since, until=until, page=page)
