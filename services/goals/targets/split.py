"""Decomposition of a target into parts (sub-periods or product lines) that add up to it exactly."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actions.models import ActionItem
from services.goals.config import GoalsSettings, calendar_of
from services.goals.decomposition import SplitMismatch, check_manual, money_text, split_even, split_weighted
from services.goals.forecast import ADDITIVE_METRICS, q2
from services.goals.targets.models import Target
from services.goals.targets.schemas import SplitRequest, TargetCreate
from services.goals.targets.service import create_target
from shared.auth import Principal
from shared.errors import Conflict, Unprocessable


def _split_values(target: Target, body: SplitRequest, keys: list[str], settings: GoalsSettings) -> dict[str, Decimal]:
    """Values of the parts, adding up exactly to the target."""
    total = target.target_value
    if body.method == "even":
        return split_even(total, keys)
    if body.method == "seasonal":
        weights = body.weights
        if weights is None and body.template is not None:
            template = settings.seasonal_templates.get(body.template)
            if template is None:
                raise Unprocessable(
                    f"unknown seasonal template {body.template!r}; known: {', '.join(settings.seasonal_templates)}",
                    field="template",
                )
            weights = _template_for(template, keys, target, settings)
        if weights is None:
            raise Unprocessable("a seasonal split needs weights or a template", field="weights")
        try:
            return split_weighted(total, keys, weights)
        except ValueError as exc:
            raise Unprocessable(str(exc), field="weights") from exc
    if not body.parts:
        raise Unprocessable("a manual split needs parts", field="parts")
    unknown = sorted(set(body.parts) - set(keys)) if target.split_by != "product_line" else []
    if unknown:
        raise Unprocessable(f"parts {', '.join(unknown)} are not sub-periods of {target.period}", field="parts")
    missing = sorted(set(keys) - set(body.parts))
    if missing:
        raise Unprocessable(f"parts missing for {', '.join(missing)}", field="parts")
    try:
        return check_manual(total, {k: body.parts[k] for k in keys})
    except SplitMismatch as exc:
        raise Unprocessable(str(exc), field="parts", gap=money_text(exc.gap)) from exc


def _template_for(template: list[Decimal], keys: list[str], target: Target, settings: GoalsSettings) -> list[Decimal]:
    """Monthly template weights folded onto the parts (months or quarters of the target's period)."""
    if len(template) != 12:
        raise Unprocessable("a seasonal template has 12 monthly weights", field="template")
    cal = calendar_of(settings)
    year_months = cal.year_months(cal.parse(target.period).fiscal_year)
    by_month = dict(zip(year_months, template, strict=True))
    return [sum((by_month[m] for m in cal.parse(key).months), Decimal(0)) for key in keys]


def _part_keys(target: Target, body: SplitRequest, settings: GoalsSettings) -> list[str]:
    """The parts a split makes: sub-periods of the target's period, or product lines."""
    cal = calendar_of(settings)
    if body.by == "period":
        try:
            return [p.text for p in cal.children(cal.parse(target.period), body.into)]
        except Exception as exc:
            raise Unprocessable(str(exc), field="into") from exc
    if target.product_line is not None:
        raise Unprocessable("this target is already for one product line", field="by")
    if body.method == "manual":
        return list((body.parts or {}).keys())
    return body.product_lines or list(settings.product_lines)


async def _remove_parts(session: AsyncSession, target: Target) -> None:
    """Drop a target's current parts (and their action items); parts split further must be unsplit first."""
    existing = list(await session.scalars(select(Target).where(Target.parent_id == target.id)))
    if not existing:
        return
    has_grandchildren = await session.scalar(
        select(func.count()).select_from(Target).where(Target.parent_id.in_([c.id for c in existing]))
    )
    if has_grandchildren:
        raise Conflict("the current parts are split further; remove those splits first")
    await session.execute(delete(ActionItem).where(ActionItem.target_id.in_([c.id for c in existing])))
    await session.execute(delete(Target).where(Target.parent_id == target.id))


async def split_target(
    session: AsyncSession,
    *,
    target: Target,
    body: SplitRequest,
    actor: Principal,
    settings: GoalsSettings,
    now: datetime,
) -> list[Target]:
    """Replace a target's children by a split over sub-periods or product lines; the parts add up exactly."""
    if target.metric not in ADDITIVE_METRICS and target.metric not in ("new_business", "custom"):
        raise Unprocessable(f"{target.metric} is a ratio and does not add up; set each period's target", field="by")
    keys = _part_keys(target, body, settings)
    previous = target.split_by
    target.split_by = body.by
    try:
        values = _split_values(target, body, keys, settings)
    finally:
        target.split_by = previous
    await _remove_parts(session, target)
    children = []
    for key, value in values.items():
        part = TargetCreate(
            account_id=target.account_id,
            owner_id=None if target.account_id else target.owner_id,
            metric=target.metric,
            custom_metric=target.custom_metric,
            period=key if body.by == "period" else target.period,
            product_line=key if body.by == "product_line" else target.product_line,
            target_value=value,
            stretch_value=q2(target.stretch_value * value / target.target_value)
            if target.stretch_value is not None and target.target_value
            else None,
            currency=target.currency,
        )
        children.append(await create_target(session, body=part, actor=actor, settings=settings, now=now, parent=target))
    target.split_by, target.split_method = body.by, body.method
    target.version += 1
    target.updated_at = now
    await session.flush()
    return children
