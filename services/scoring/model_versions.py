"""Scoring model versions: draft → published (history kept), and the default model of a fresh database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import ScoringModelVersion
from services.scoring.scoring_model import ModelDefinition, default_definition, parse_definition, validate_definition
from shared.errors import InvalidTransition, NotFound


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
    session: AsyncSession, *, name: str, notes: str | None, definition: ModelDefinition, user_id: str, now: datetime
) -> ScoringModelVersion:
    """Store a new draft version (validated: 422 naming the problem)."""
    validate_definition(definition)
    latest = await session.scalar(select(func.max(ScoringModelVersion.version)))
    model = ScoringModelVersion(
        version=int(latest or 0) + 1,
        name=name,
        status="draft",
        definition=definition.model_dump(mode="json"),
        notes=notes,
        created_by=user_id,
        created_at=now,
    )
    session.add(model)
    await session.flush()
    return model


async def get_model(session: AsyncSession, *, version: int) -> ScoringModelVersion:
    """One model version or 404."""
    model = await session.get(ScoringModelVersion, version)
    if model is None:
        raise NotFound(f"Scoring model version {version} not found")
    return model


async def publish_model(session: AsyncSession, *, version: int, user_id: str, now: datetime) -> ScoringModelVersion:
    """Draft → published; the previously published version is retired (kept as history)."""
    model = await get_model(session, version=version)
    if model.status != "draft":
        raise InvalidTransition(
            f"Only a draft can be published; version {version} is {model.status}",
            current=model.status,
            allowed=[],
        )
    validate_definition(parse_definition(model.definition))
    await session.execute(
        update(ScoringModelVersion).where(ScoringModelVersion.status == "published").values(status="retired")
    )
    model.status = "published"
    model.published_by = user_id
    model.published_at = now
    await session.flush()
    return model
