"""HTTP routes of scoring across the portfolio: indicators, model versions, full re-score jobs, tier distribution
and movers."""

from __future__ import annotations

from datetime import timedelta
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request

from services.scoring.deps import Actor, At, Job, ModelVersion, Supervisor
from services.scoring.jobs import run_rescore
from services.scoring.models import platform
from services.scoring.scores import model_versions, rescore_jobs, tiers
from services.scoring.scores.schemas import JobRead, ModelCreate, ModelRead, MoverRead, TierDistribution
from services.scoring.scoring_model import DIMENSIONS, INDICATORS
from shared.api import Instant
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


@router.get("/scoring/models", response_model=list[ModelRead], tags=SCORING, summary="Scoring model versions")
async def list_models(session: SessionDep, actor: Actor) -> list[ModelRead]:
    """Every version, newest first (drafts, the published one, retired history)."""
    return [ModelRead.model_validate(m) for m in await model_versions.list_models(session)]


@router.post(
    "/scoring/models", status_code=201, response_model=ModelRead, tags=SCORING, summary="Create a draft scoring model"
)
async def post_model(body: ModelCreate, session: SessionDep, clock: ClockDep, actor: Supervisor) -> ModelRead:
    """Indicators, normalisation, weights (summing to 100) and tier policy; invalid models get a 422."""
    model = await model_versions.create_model(session, body=body, actor=actor, now=clock.now())
    return ModelRead.model_validate(model)


@router.get("/scoring/models/{version}", response_model=ModelRead, tags=SCORING, summary="One scoring model version")
async def get_model(model: ModelVersion) -> ModelRead:
    """A model version."""
    return ModelRead.model_validate(model)


@router.post(
    "/scoring/models/{version}/publish", response_model=ModelRead, tags=SCORING, summary="Publish a draft model"
)
async def post_publish_model(
    actor: Supervisor,
    model: ModelVersion,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    clock: ClockDep,
) -> ModelRead:
    """Draft → published (the previous version is retired); starts a full re-score under the new model."""
    await model_versions.publish_model(session, model=model, actor=actor, now=clock.now())
    job, new = await rescore_jobs.request_rescore(
        session, trigger="model_published", actor_id=actor.user_id, now=clock.now()
    )
    if new:
        background.add_task(run_rescore, request.app, job.id)
    return ModelRead.model_validate(model)


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


@router.get("/scoring/tiers/distribution", response_model=TierDistribution, tags=SCORING, summary="Tier distribution")
async def get_distribution(session: SessionDep, actor: Actor) -> TierDistribution:
    """How many active accounts each tier holds (the caller's visible portfolio)."""
    return await tiers.tier_distribution(session, platform, actor=actor)


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
