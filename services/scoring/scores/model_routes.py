"""HTTP routes of scoring model versions: drafts (create, change, delete), the preview of what a version would move,
publish and rollback (each returning the full re-score job it queued)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.deps import Actor, At, ModelVersion, Paging, Supervisor
from services.scoring.jobs import run_rescore
from services.scoring.scores import model_versions
from services.scoring.scores.model_preview import preview_model
from services.scoring.scores.models import ScoringModelVersion
from services.scoring.scores.rescore_jobs import request_rescore
from services.scoring.scores.schemas import (
    JobRead,
    ModelCreate,
    ModelPreviewRead,
    ModelPublishedRead,
    ModelRead,
    ModelUpdate,
    QueuedJobRead,
)
from shared.api import check_if_match, set_etag
from shared.auth import Principal
from shared.clock import Clock
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(responses=PROBLEM_RESPONSES)
SCORING: list[str | Enum] = ["scoring"]
DeleteReason = Annotated[str | None, Query(max_length=2000, description="Why it is deleted (audit log)")]


async def _queue_rescore(
    request: Request,
    response: Response,
    background: BackgroundTasks,
    session: AsyncSession,
    *,
    model: ScoringModelVersion,
    actor: Principal,
    clock: Clock,
) -> ModelPublishedRead:
    """Queue the full re-score under the newly published model (or join the open job, which ends with it)."""
    job, new = await request_rescore(session, trigger="model_published", actor_id=actor.user_id, now=clock.now())
    if new:
        background.add_task(run_rescore, request.app, job.id)
    location = f"/scoring/jobs/{job.id}"
    response.headers["Location"] = location
    set_etag(response, model.revision)
    queued = QueuedJobRead.model_validate({**JobRead.of(job).model_dump(), "location": location})
    return ModelPublishedRead.model_validate({**ModelRead.model_validate(model).model_dump(), "rescore_job": queued})


@router.get("/scoring/models", response_model=list[ModelRead], tags=SCORING, summary="Scoring model versions")
async def list_models(session: SessionDep, actor: Actor) -> list[ModelRead]:
    """Every version, newest first (drafts, the published one, retired history)."""
    return [ModelRead.model_validate(m) for m in await model_versions.list_models(session)]


@router.post(
    "/scoring/models", status_code=201, response_model=ModelRead, tags=SCORING, summary="Create a draft scoring model"
)
async def post_model(
    body: ModelCreate, response: Response, session: SessionDep, clock: ClockDep, actor: Supervisor
) -> ModelRead:
    """Indicators, normalisation, weights (summing to 100) and tier policy; invalid models get a 422."""
    model = await model_versions.create_model(session, body=body, actor=actor, now=clock.now())
    response.headers["Location"] = f"/scoring/models/{model.version}"
    set_etag(response, model.revision)
    return ModelRead.model_validate(model)


@router.get("/scoring/models/{version}", response_model=ModelRead, tags=SCORING, summary="One scoring model version")
async def get_model(model: ModelVersion, response: Response) -> ModelRead:
    """A model version (its ETag is its revision)."""
    set_etag(response, model.revision)
    return ModelRead.model_validate(model)


@router.patch("/scoring/models/{version}", response_model=ModelRead, tags=SCORING, summary="Change a draft model")
async def patch_model(
    actor: Supervisor,
    model: ModelVersion,
    body: ModelUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
) -> ModelRead:
    """Change a draft's name, notes or definition (``If-Match``); published and retired versions are history (409)."""
    check_if_match(request, model.revision)
    await model_versions.update_draft(session, model=model, body=body, actor=actor, now=clock.now())
    set_etag(response, model.revision)
    return ModelRead.model_validate(model)


@router.delete("/scoring/models/{version}", status_code=204, tags=SCORING, summary="Delete a draft model")
async def delete_model(
    actor: Supervisor,
    model: ModelVersion,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    reason: DeleteReason = None,
) -> Response:
    """Delete a draft (``If-Match``); published and retired versions are history (409). The audit log keeps it."""
    check_if_match(request, model.revision)
    await model_versions.delete_draft(session, model=model, actor=actor, now=clock.now(), reason=reason)
    return Response(status_code=204)


@router.get(
    "/scoring/models/{version}/preview",
    response_model=ModelPreviewRead,
    tags=SCORING,
    summary="Preview the tier moves of a model (supervisor)",
)
async def get_model_preview(
    actor: Supervisor, model: ModelVersion, session: SessionDep, at: At, page: Paging
) -> ModelPreviewRead:
    """The whole portfolio scored in memory with this version (nothing written): every account whose computed tier
    would move from the stored one, with both scores and tiers, biggest moves first; counts per from → to."""
    return await preview_model(session, model=model, at=at, page=page)


@router.post(
    "/scoring/models/{version}/publish", response_model=ModelPublishedRead, tags=SCORING, summary="Publish a draft"
)
async def post_publish_model(
    actor: Supervisor,
    model: ModelVersion,
    request: Request,
    response: Response,
    background: BackgroundTasks,
    session: SessionDep,
    clock: ClockDep,
) -> ModelPublishedRead:
    """Draft → published (the previous version is retired); returns the full re-score job it queued (``Location``)."""
    await model_versions.publish_model(session, model=model, actor=actor, now=clock.now())
    return await _queue_rescore(request, response, background, session, model=model, actor=actor, clock=clock)


@router.post(
    "/scoring/models/{version}/rollback",
    status_code=201,
    response_model=ModelPublishedRead,
    tags=SCORING,
    summary="Roll back to a retired model version",
)
async def post_rollback_model(
    actor: Supervisor,
    model: ModelVersion,
    request: Request,
    response: Response,
    background: BackgroundTasks,
    session: SessionDep,
    clock: ClockDep,
) -> ModelPublishedRead:
    """Publish a copy of this retired version as a new version (history kept; the current one is retired); returns
    the new version and the re-score job it queued (``Location``: the job)."""
    copy = await model_versions.rollback_model(session, model=model, actor=actor, now=clock.now())
    return await _queue_rescore(request, response, background, session, model=copy, actor=actor, clock=clock)
