"""Scoring model versions: draft → published → retired (history kept), and the default model of a fresh database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import audit_log
from services.scoring.scores.models import ScoringModelVersion
from services.scoring.scores.schemas import ModelCreate
from services.scoring.scoring_model import default_definition, parse_definition, validate_definition
from shared.audit import record_audit
from shared.auth import Principal
from shared.errors import InvalidTransition, NotFound

# The life of a model version: a draft is published; publishing the next one retires it.
MODEL_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"published"}),
    "published": frozenset({"retired"}),
    "retired": frozenset(),
}


def _may_move(current: str, target: str) -> bool:
    return target in MODEL_TRANSITIONS.get(current, frozenset())


def _statuses_moving_to(target: str) -> list[str]:
    return [status for status, targets in MODEL_TRANSITIONS.items() if target in targets]


async def active_model(session: AsyncSession) -> ScoringModelVersion | None:
    """The published model (the newest one if history holds several)."""
    return await session.scalar(
        select(ScoringModelVersion)
        .where(ScoringModelVersion.status == "published")
        .order_by(ScoringModelVersion.version.desc())
        .limit(1)
    )


async def ensure_default_model(session: AsyncSession, *, now: datetime) -> None:
    """Publish the default model as version 1 on a fresh database."""
    if await session.scalar(select(func.count()).select_from(ScoringModelVersion)):
        return
    session.add(
        ScoringModelVersion(
            version=1,
            name="默认模型 Default (FAQ 1)",
            status="published",
            definition=default_definition().model_dump(mode="json"),
            notes="Scale 35, strategic 25, potential 20, relationship 20.",
            created_by="system",
            created_at=now,
            published_by="system",
            published_at=now,
        )
    )
    await session.flush()


async def create_model(
    session: AsyncSession, *, body: ModelCreate, actor: Principal, now: datetime
) -> ScoringModelVersion:
    """Store a new draft version (validated: 422 naming the problem)."""
    validate_definition(body.definition)
    latest = await session.scalar(select(func.max(ScoringModelVersion.version)))
    model = ScoringModelVersion(
        version=int(latest or 0) + 1,
        name=body.name,
        status="draft",
        definition=body.definition.model_dump(mode="json"),
        notes=body.notes,
        created_by=actor.user_id,
        created_at=now,
    )
    session.add(model)
    await session.flush()
    return model


async def list_models(session: AsyncSession) -> list[ScoringModelVersion]:
    """Every version, newest first."""
    rows = await session.execute(select(ScoringModelVersion).order_by(ScoringModelVersion.version.desc()))
    return list(rows.scalars())


async def get_model(session: AsyncSession, *, version: int) -> ScoringModelVersion:
    """One model version or 404."""
    model = await session.get(ScoringModelVersion, version)
    if model is None:
        raise NotFound(f"Scoring model version {version} not found")
    return model


async def publish_model(
    session: AsyncSession, *, model: ScoringModelVersion, actor: Principal, now: datetime
) -> ScoringModelVersion:
    """Draft → published; the previously published version is retired (kept as history)."""
    if not _may_move(model.status, "published"):
        # Publishing is the only move a caller makes, so no other target is offered.
        raise InvalidTransition(
            f"Only a draft can be published; version {model.version} is {model.status}",
            current=model.status,
            allowed=[],
        )
    validate_definition(parse_definition(model.definition))
    previous = await active_model(session)
    before = {"status": model.status, "published_version": previous.version if previous else None}
    await session.execute(
        update(ScoringModelVersion)
        .where(ScoringModelVersion.status.in_(_statuses_moving_to("retired")))
        .values(status="retired")
    )
    model.status = "published"
    model.published_by = actor.user_id
    model.published_at = now
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="scoring_model.published",
        object_type="scoring_model",
        object_id=str(model.version),
        before=before,
        after={"status": model.status, "published_version": model.version},
        at=now,
    )
    return model
