"""Scoring model versions: draft → published → retired (history kept), drafts edited and deleted, a rollback
re-publishing an earlier version as a new one, and the default model of a fresh database.

Version numbers are never reused: a deleted draft's number stays taken (its audit record keeps the draft), and a
rollback publishes a *copy* (``copied_from``) so that every version's publication stays in the history as it was.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import audit_log
from services.scoring.scores.models import ScoringModelVersion
from services.scoring.scores.schemas import ModelCreate, ModelUpdate
from services.scoring.scoring_model import default_definition, parse_definition, validate_definition
from shared.audit import record_audit
from shared.auth import Principal
from shared.errors import Conflict, InvalidTransition, NotFound, Unprocessable

OBJECT_TYPE = "scoring_model"
DELETED = "scoring_model.draft_deleted"

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
    model = ScoringModelVersion(
        version=await _next_version(session),
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


async def _next_version(session: AsyncSession) -> int:
    """One more than every version ever numbered (stored, or a deleted draft's in the audit log)."""
    latest = int(await session.scalar(select(func.max(ScoringModelVersion.version))) or 0)
    deleted = await session.scalars(
        select(audit_log.c.object_id).where(audit_log.c.object_type == OBJECT_TYPE, audit_log.c.action == DELETED)
    )
    return max([latest, *(int(v) for v in deleted if v.isdigit())]) + 1


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
    await _retire_published(session)
    model.status = "published"
    model.published_by = actor.user_id
    model.published_at = now
    model.revision += 1
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="scoring_model.published",
        object_type=OBJECT_TYPE,
        object_id=str(model.version),
        before=before,
        after={"status": model.status, "published_version": model.version},
        at=now,
    )
    return model


async def _retire_published(session: AsyncSession) -> None:
    await session.execute(
        update(ScoringModelVersion)
        .where(ScoringModelVersion.status.in_(_statuses_moving_to("retired")))
        .values(status="retired", revision=ScoringModelVersion.revision + 1)
    )


def _only_drafts(model: ScoringModelVersion, doing: str) -> None:
    if model.status != "draft":
        raise Conflict(
            f"Only a draft can be {doing}; version {model.version} is {model.status} (kept as history)",
            field="version",
            status_of_version=model.status,
        )


def _editable(model: ScoringModelVersion) -> dict[str, Any]:
    return {"name": model.name, "notes": model.notes, "definition": model.definition}


async def update_draft(
    session: AsyncSession, *, model: ScoringModelVersion, body: ModelUpdate, actor: Principal, now: datetime
) -> ScoringModelVersion:
    """Change a draft's name, notes or definition (validated: 422 naming the problem); a published or retired
    version is history (409). Audited with what changed."""
    _only_drafts(model, "changed")
    given = body.model_fields_set
    if not given:
        raise Unprocessable("Nothing to change: give name, notes or definition", field="body")
    if "name" in given and body.name is None:
        raise Unprocessable("A model needs a name", field="name")
    if "definition" in given:
        if body.definition is None:
            raise Unprocessable("A model needs a definition", field="definition")
        validate_definition(body.definition)
    before = _editable(model)
    if body.name is not None:
        model.name = body.name
    if "notes" in given:
        model.notes = body.notes
    if body.definition is not None:
        model.definition = body.definition.model_dump(mode="json")
    after = _editable(model)
    changed = [k for k in after if after[k] != before[k]]
    model.revision += 1
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="scoring_model.draft_updated",
        object_type=OBJECT_TYPE,
        object_id=str(model.version),
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
        at=now,
    )
    return model


async def delete_draft(
    session: AsyncSession, *, model: ScoringModelVersion, actor: Principal, now: datetime, reason: str | None = None
) -> None:
    """Delete a draft (a published or retired version is history: 409); the audit log keeps the whole draft."""
    _only_drafts(model, "deleted")
    before = {"status": model.status, **_editable(model), "created_by": model.created_by}
    await session.delete(model)
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action=DELETED,
        object_type=OBJECT_TYPE,
        object_id=str(model.version),
        before=before,
        after={"reason": reason},
        at=now,
    )


async def rollback_model(
    session: AsyncSession, *, model: ScoringModelVersion, actor: Principal, now: datetime
) -> ScoringModelVersion:
    """Re-publish a retired version: a new published version copying its definition (``copied_from``), the
    current one retired; every earlier publication stays in the history as it was. A draft was never in force
    and the published version is in force already (409). Audited."""
    if model.status != "retired":
        raise Conflict(
            f"Only a retired version can be rolled back to; version {model.version} is {model.status}",
            field="version",
            status_of_version=model.status,
        )
    definition = parse_definition(model.definition)
    validate_definition(definition)
    previous = await active_model(session)
    await _retire_published(session)
    copy = ScoringModelVersion(
        version=await _next_version(session),
        name=f"{model.name} (回滚 rollback to v{model.version})"[:200],
        status="published",
        definition=definition.model_dump(mode="json"),
        notes=f"Rollback to v{model.version} / 回滚至 v{model.version}" + (f": {model.notes}" if model.notes else ""),
        created_by=actor.user_id,
        created_at=now,
        published_by=actor.user_id,
        published_at=now,
        copied_from=model.version,
    )
    session.add(copy)
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="scoring_model.rolled_back",
        object_type=OBJECT_TYPE,
        object_id=str(copy.version),
        before={"published_version": previous.version if previous else None},
        after={"published_version": copy.version, "copied_from": model.version},
        at=now,
    )
    return copy
