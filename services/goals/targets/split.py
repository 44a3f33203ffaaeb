"""Decomposition of a target into parts (sub-periods or product lines) that add up to it exactly."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actions.models import ActionItem
from services.goals.catalogue.service import offered_lines, seasonal_templates
from services.goals.config import GoalsSettings, calendar_of
from services.goals.decomposition import SplitMismatch, check_manual, money_text, split_even, split_weighted
from services.goals.forecast import ADDITIVE_METRICS
from services.goals.periods import FiscalCalendar
from services.goals.targets.models import Target
from services.goals.targets.schemas import SplitRequest, TargetCreate
from services.goals.targets.service import APPROVER_ROLES, create_target, publish_target_set, retrack
from services.goals.targets.tree import part_stretches, parts_of, redistribute
from shared.auth import Principal
from shared.bus import Publisher
from shared.errors import Conflict, Forbidden, Unprocessable


def _split_values(
    target: Target,
    body: SplitRequest,
    keys: list[str],
    settings: GoalsSettings,
    templates: dict[str, list[Decimal]],
) -> tuple[dict[str, Decimal], list[Decimal]]:
    """Values of the parts, adding up exactly to the target, and the weights they were made with (``templates``:
    the seasonal templates in use)."""
    total = target.target_value
    if body.method == "even":
        return split_even(total, keys), [Decimal(1)] * len(keys)
    if body.method == "seasonal":
        weights = body.weights
        if weights is None and body.template is not None:
            template = templates.get(body.template)
            if template is None:
                raise Unprocessable(
                    f"unknown seasonal template {body.template!r}; known: {', '.join(sorted(templates))}",
                    field="template",
                )
            weights = _template_for(template, keys, target, settings)
        if weights is None:
            raise Unprocessable("a seasonal split needs weights or a template", field="weights")
        try:
            return split_weighted(total, keys, weights), list(weights)
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
        values = check_manual(total, {k: body.parts[k] for k in keys})
        return values, list(values.values())
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


def _part_keys(target: Target, body: SplitRequest, settings: GoalsSettings, offered: list[str]) -> list[str]:
    """The parts a split makes: sub-periods of the target's period, or product lines (by default those offered)."""
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
    return body.product_lines or offered


_ITEMS_NAMED = 20  # how many refused action items a 409 lists


def _covers(new: Target | None, old: Target, cal: FiscalCalendar) -> bool:
    """A new part takes an old part's action items when it is for the same product line and its period holds the
    old part's (same account: every part is of the split target's account)."""
    if new is None or new.product_line != old.product_line:
        return False
    return set(cal.parse(old.period).months) <= set(cal.parse(new.period).months)


def _where(part: Target) -> str:
    return part.period if part.product_line is None else f"{part.period}, {part.product_line}"


async def _hand_over_items(
    session: AsyncSession,
    *,
    parent: Target,
    removed: list[Target],
    new_parts: list[Target],
    unmatched: str,
    cal: FiscalCalendar,
    now: datetime,
) -> None:
    """Move the action items of removed parts to the new part that covers them; the rest go to the split target
    itself with ``unmatched="parent"``, otherwise the removal is refused (409 naming them)."""
    if not removed:
        return
    items = list(
        await session.scalars(
            select(ActionItem)
            .where(ActionItem.target_id.in_([p.id for p in removed]))
            .order_by(ActionItem.due_date, ActionItem.id)
        )
    )
    by_id = {p.id: p for p in removed}
    homes = {i.id: next((n for n in new_parts if _covers(n, by_id[i.target_id], cal)), None) for i in items}
    orphans = [i for i in items if homes[i.id] is None]
    if orphans and unmatched != "parent":
        raise Conflict(
            f"{len(orphans)} action item(s) belong to parts this split removes and no new part covers them: "
            + ", ".join(f"{i.title!r} ({_where(by_id[i.target_id])})" for i in orphans[:_ITEMS_NAMED])
            + "; split so a part covers them, or send unmatched_items=parent to move them to this target",
            action_items=[
                {
                    "id": i.id,
                    "title": i.title,
                    "target_id": i.target_id,
                    "period": by_id[i.target_id].period,
                    "product_line": by_id[i.target_id].product_line,
                }
                for i in orphans[:_ITEMS_NAMED]
            ],
            field="unmatched_items",
        )
    for item in items:
        home = homes[item.id] or parent
        item.target_id, item.updated_at = home.id, now
        item.version += 1
    await session.flush()


async def _drop(session: AsyncSession, parts: list[Target]) -> None:
    """Delete removed parts (their action items were moved); a removed part split further is refused first."""
    if not parts:
        return
    below = await session.scalar(
        select(func.count()).select_from(Target).where(Target.parent_id.in_([p.id for p in parts]))
    )
    if below:
        raise Conflict(
            "parts this split removes are split further; remove those splits first",
            parts=sorted(p.id for p in parts),
        )
    await session.execute(delete(Target).where(Target.id.in_([p.id for p in parts])))
    for part in parts:
        session.expunge(part)


def _part_key(target: Target) -> tuple[str, str | None]:
    return target.period, target.product_line


def _check_may_split(target: Target, actor: Principal) -> None:
    if target.status == "cancelled":
        raise Conflict("the target is cancelled; a cancelled target does not change", target_status=target.status)
    if target.status == "approved" and not actor.has_any(APPROVER_ROLES):
        raise Forbidden("only a supervisor or an admin changes the split of an approved target")


async def split_target(
    session: AsyncSession,
    *,
    target: Target,
    body: SplitRequest,
    actor: Principal,
    settings: GoalsSettings,
    now: datetime,
    publisher: Publisher | None = None,
) -> list[Target]:
    """Split a target over sub-periods or product lines (the parts add up exactly), replacing its current split.

    A current part for the same period and product line as a new one is kept (its id, action items, flags and any
    split below it, re-distributed to its new value); the action items of parts that go move to the new part that
    covers them (same product line, period within) — see ``_hand_over_items``. The parent's stretch is carried onto
    the parts. Parts of an approved target are approved and tracked from their creation."""
    _check_may_split(target, actor)
    if target.metric not in ADDITIVE_METRICS and target.metric not in ("new_business", "custom"):
        raise Unprocessable(f"{target.metric} is a ratio and does not add up; set each period's target", field="by")
    keys = _part_keys(target, body, settings, await offered_lines(session, settings))
    previous = target.split_by
    target.split_by = body.by
    try:
        values, weights = _split_values(target, body, keys, settings, await seasonal_templates(session, settings))
    finally:
        target.split_by = previous
    stretches = dict(zip(values, part_stretches(target.stretch_value, list(values.values()), weights), strict=True))
    current = {_part_key(p): p for p in await parts_of(session, target.id)}
    cal = calendar_of(settings)
    parts: list[Target] = []
    created: list[Target] = []
    changed: list[Target] = []
    for key, value in values.items():
        period = key if body.by == "period" else target.period
        line = key if body.by == "product_line" else target.product_line
        kept = current.pop((period, line), None)
        if kept is not None:
            if (kept.target_value, kept.stretch_value) != (value, stretches[key]):
                kept.target_value, kept.stretch_value = value, stretches[key]
                kept.version += 1
                kept.updated_at = now
                changed += [kept, *await redistribute(session, kept)]
            parts.append(kept)
            continue
        body_of_part = TargetCreate(
            account_id=target.account_id,
            owner_id=None if target.account_id else target.owner_id,
            metric=target.metric,
            custom_metric=target.custom_metric,
            period=period,
            product_line=line,
            target_value=value,
            currency=target.currency,
        )
        part = await create_target(session, body=body_of_part, actor=actor, settings=settings, now=now, parent=target)
        part.stretch_value = stretches[key]
        created.append(part)
        parts.append(part)
    removed = list(current.values())
    await _hand_over_items(
        session, parent=target, removed=removed, new_parts=parts, unmatched=body.unmatched_items, cal=cal, now=now
    )
    await _drop(session, removed)
    target.split_by, target.split_method = body.by, body.method
    target.version += 1
    target.updated_at = now
    await session.flush()
    if target.status == "approved" and publisher is not None:
        await _announce(session, target, [*created, *changed], settings=settings, publisher=publisher, now=now)
    return parts


async def remove_split(
    session: AsyncSession,
    *,
    target: Target,
    unmatched_items: str,
    actor: Principal,
    settings: GoalsSettings,
    now: datetime,
    publisher: Publisher,
) -> Target:
    """Remove a target's split: its parts go; their action items are refused (409 naming them) unless
    ``unmatched_items="parent"`` moves them to the target."""
    _check_may_split(target, actor)
    removed = await parts_of(session, target.id)
    if not removed:
        raise Conflict("the target is not split", split_by=None)
    cal = calendar_of(settings)
    await _hand_over_items(
        session, parent=target, removed=removed, new_parts=[], unmatched=unmatched_items, cal=cal, now=now
    )
    await _drop(session, removed)
    target.split_by = target.split_method = None
    target.version += 1
    target.updated_at = now
    await session.flush()
    if target.status == "approved":
        await _announce(session, target, [], settings=settings, publisher=publisher, now=now)
    return target


async def _announce(
    session: AsyncSession,
    target: Target,
    parts: list[Target],
    *,
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
) -> None:
    """New or changed parts of an approved target: ``goals.target_set`` for each, and the tree re-tracked now."""
    for part in parts:
        await publish_target_set(session, publisher, part)
    await retrack(session, target, settings=settings, publisher=publisher, now=now)
