"""The catalogue: seasonal templates and product lines — the settings' entries, overlaid by those set through the
API (supervisors and admins). Flush only."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.catalogue.models import ProductLine, SeasonalTemplate
from services.goals.catalogue.schemas import (
    ProductLinePut,
    ProductLineRead,
    SeasonalTemplatePut,
    SeasonalTemplateRead,
)
from services.goals.config import GoalsSettings
from services.goals.models import audit_log
from services.goals.targets.models import Target
from shared.audit import record_audit
from shared.auth import ADMIN, SUPERVISOR, Principal
from shared.errors import Conflict, Forbidden, NotFound

EDITORS = frozenset({ADMIN, SUPERVISOR})


def _require_editor(actor: Principal) -> None:
    if not actor.has_any(EDITORS):
        raise Forbidden("only a supervisor or an admin keeps the catalogue")


# ---------------------------------------------------------------- seasonal templates


async def seasonal_templates(session: AsyncSession, settings: GoalsSettings) -> dict[str, list[Decimal]]:
    """The templates in use: the setting's, each replaced by an API entry of the same name, and the API's own."""
    out = {name: list(weights) for name, weights in settings.seasonal_templates.items()}
    for row in await session.scalars(select(SeasonalTemplate)):
        out[row.name] = [Decimal(w) for w in row.weights]
    return out


async def list_templates(session: AsyncSession, settings: GoalsSettings) -> list[SeasonalTemplateRead]:
    """Every template in use, by name."""
    rows = {r.name: r for r in await session.scalars(select(SeasonalTemplate))}
    names = sorted(set(settings.seasonal_templates) | set(rows))
    return [_template_read(name, rows.get(name), settings) for name in names]


def _template_read(name: str, row: SeasonalTemplate | None, settings: GoalsSettings) -> SeasonalTemplateRead:
    if row is not None:
        return SeasonalTemplateRead(
            name=name,
            weights=[Decimal(w) for w in row.weights],
            description=row.description,
            source="api",
            version=row.version,
        )
    return SeasonalTemplateRead(
        name=name, weights=list(settings.seasonal_templates[name]), description=None, source="setting", version=None
    )


async def template_row(session: AsyncSession, name: str) -> SeasonalTemplate | None:
    """The API's entry of a template (None when there is none)."""
    return await session.get(SeasonalTemplate, name)


async def put_template(
    session: AsyncSession,
    *,
    name: str,
    body: SeasonalTemplatePut,
    actor: Principal,
    settings: GoalsSettings,
    now: datetime,
) -> SeasonalTemplateRead:
    """Set a template (a new one, or one replacing the setting's of that name)."""
    _require_editor(actor)
    row = await template_row(session, name)
    weights = [format(w.normalize(), "f") for w in body.weights]
    if row is None:
        row = SeasonalTemplate(
            name=name,
            weights=weights,
            description=body.description,
            updated_by=actor.user_id,
            created_at=now,
            updated_at=now,
            version=1,
        )
        session.add(row)
    else:
        row.weights, row.description, row.updated_by, row.updated_at = weights, body.description, actor.user_id, now
        row.version += 1
    await session.flush()
    return _template_read(name, row, settings)


async def delete_template(
    session: AsyncSession, *, name: str, actor: Principal, settings: GoalsSettings
) -> SeasonalTemplateRead | None:
    """Remove the API's entry; a template of the setting comes back (and is returned), one only in the setting is a
    409 (change ``KAM_GOALS_SEASONAL_TEMPLATES``)."""
    _require_editor(actor)
    row = await template_row(session, name)
    if row is None:
        if name in settings.seasonal_templates:
            raise Conflict(
                f"the template {name!r} comes from the setting KAM_GOALS_SEASONAL_TEMPLATES; replace it (PUT) or "
                "change the setting",
                source="setting",
            )
        raise NotFound(f"Seasonal template {name!r} not found")
    await session.delete(row)
    await session.flush()
    return _template_read(name, None, settings) if name in settings.seasonal_templates else None


# ---------------------------------------------------------------- product lines


async def _line_rows(session: AsyncSession) -> dict[str, ProductLine]:
    return {r.name: r for r in await session.scalars(select(ProductLine))}


async def offered_lines(session: AsyncSession, settings: GoalsSettings) -> list[str]:
    """The product lines we offer: the setting's (in its order) and the API's, less the retired ones."""
    rows = await _line_rows(session)
    names = [*settings.product_lines, *sorted(set(rows) - set(settings.product_lines))]
    return [n for n in names if n not in rows or rows[n].active]


async def known_lines(session: AsyncSession, settings: GoalsSettings) -> set[str]:
    """Every product line the catalogue knows, retired ones included (a sales line of another one is flagged)."""
    return {*settings.product_lines, *(await _line_rows(session))}


async def list_product_lines(session: AsyncSession, settings: GoalsSettings) -> list[ProductLineRead]:
    """The catalogue: the setting's lines in its order, then the API's by name (retired ones included)."""
    rows = await _line_rows(session)
    names = [*settings.product_lines, *sorted(set(rows) - set(settings.product_lines))]
    return [_line_read(n, rows.get(n)) for n in names]


def _line_read(name: str, row: ProductLine | None) -> ProductLineRead:
    if row is None:
        return ProductLineRead(name=name, description=None, active=True, source="setting", version=None)
    return ProductLineRead(name=name, description=row.description, active=row.active, source="api", version=row.version)


async def line_row(session: AsyncSession, name: str) -> ProductLine | None:
    """The API's entry of a product line (None when there is none)."""
    return await session.get(ProductLine, name)


async def put_product_line(
    session: AsyncSession, *, name: str, body: ProductLinePut, actor: Principal, now: datetime
) -> ProductLineRead:
    """Add a product line, describe one, or retire it (``active: false``: no longer offered — product penetration
    counts it no more, a product-line split leaves it out by default; its targets stay)."""
    _require_editor(actor)
    row = await line_row(session, name)
    before = None if row is None else _line_read(name, row).model_dump()
    if row is None:
        row = ProductLine(
            name=name,
            description=body.description,
            active=body.active,
            updated_by=actor.user_id,
            created_at=now,
            updated_at=now,
            version=1,
        )
        session.add(row)
    else:
        row.description, row.active, row.updated_by, row.updated_at = body.description, body.active, actor.user_id, now
        row.version += 1
    await session.flush()
    read = _line_read(name, row)
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="catalogue.product_line_set",
        object_type="product_line",
        object_id=name,
        before=before,
        after=read.model_dump(),
        at=now,
    )
    return read


async def delete_product_line(
    session: AsyncSession, *, name: str, actor: Principal, settings: GoalsSettings, now: datetime
) -> ProductLineRead | None:
    """Remove the API's entry: a line of the setting is offered as the setting says again (and returned); a line
    only the API added goes — refused (409 naming how many) while live targets are for it (retire it instead)."""
    _require_editor(actor)
    row = await line_row(session, name)
    if row is None:
        if name in settings.product_lines:
            raise Conflict(
                f"the product line {name!r} comes from the setting KAM_GOALS_PRODUCT_LINES; retire it "
                '(PUT {"active": false}) or change the setting',
                source="setting",
            )
        raise NotFound(f"Product line {name!r} not found")
    if name not in settings.product_lines:
        used = await session.scalar(
            select(func.count()).select_from(Target).where(Target.product_line == name, Target.status != "cancelled")
        )
        if used:
            raise Conflict(
                f"{used} live target(s) are for the product line {name!r}; retire it (active: false) instead",
                targets=int(used),
            )
    before = _line_read(name, row).model_dump()
    await session.delete(row)
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="catalogue.product_line_removed",
        object_type="product_line",
        object_id=name,
        before=before,
        at=now,
    )
    return _line_read(name, None) if name in settings.product_lines else None
