"""The goal tree: one live target per key, the parts below a target, and values and stretch carried down it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.decomposition import split_even, split_weighted
from services.goals.targets.models import Target
from shared.errors import Conflict, Unprocessable


def dedup_key(
    *,
    scope: str,
    account_id: str | None,
    owner_id: str | None,
    metric: str,
    custom_metric: str | None,
    period: str,
    product_line: str | None,
) -> str:
    """What makes a target unique among the live ones: its account (a team target: its owner), metric (and custom
    name), period and product line. An account target's owner is left out: it follows the account."""
    parts = (scope, account_id, owner_id if scope == "team" else None, metric, custom_metric, period, product_line)
    return "|".join("" if p is None else p for p in parts)


def key_of(target: Target) -> str:
    """The dedup key of a stored target."""
    return dedup_key(
        scope=target.scope,
        account_id=target.account_id,
        owner_id=target.owner_id,
        metric=target.metric,
        custom_metric=target.custom_metric,
        period=target.period,
        product_line=target.product_line,
    )


async def refuse_duplicate(session: AsyncSession, key: str, *, exclude: Iterable[str] = ()) -> None:
    """409 naming the live target that already holds ``key`` (cancelled targets hold none)."""
    query = select(Target.id).where(Target.dedup_key == key)
    skip = sorted(set(exclude))
    if skip:
        query = query.where(Target.id.not_in(skip))
    existing = await session.scalar(query)
    if existing is not None:
        raise Conflict(
            f"a target for the same account, metric, period and product line exists: {existing}; change or "
            "cancel that one",
            existing_target_id=existing,
        )


async def parts_of(session: AsyncSession, target_id: str) -> list[Target]:
    """The direct parts of a target, by period and product line."""
    rows = await session.scalars(
        select(Target).where(Target.parent_id == target_id).order_by(Target.period, Target.product_line, Target.id)
    )
    return list(rows)


async def subtree(session: AsyncSession, target: Target) -> list[Target]:
    """A target and every part below it (parents before their parts)."""
    out, todo = [target], [target]
    while todo:
        parts = await parts_of(session, todo.pop(0).id)
        out += parts
        todo += parts
    return out


def distribute(total: Decimal, weights: Sequence[Decimal], *, field: str) -> list[Decimal]:
    """``total`` in proportion to ``weights`` to the cent (largest remainders; all weights zero: evenly)."""
    keys = [str(i) for i in range(len(weights))]
    try:
        values = split_weighted(total, keys, weights) if sum(weights, Decimal(0)) > 0 else split_even(total, keys)
    except ValueError as exc:
        raise Unprocessable(f"{field}: {exc}", field=field) from exc
    return [values[k] for k in keys]


def part_stretches(
    stretch: Decimal | None, values: Sequence[Decimal], weights: Sequence[Decimal] | None = None
) -> list[Decimal | None]:
    """The parent's stretch carried onto its parts (adding up to the cent): in the proportions the values were made
    with (``weights``), or in proportion to the values when that would leave a part's stretch below its value; no
    stretch on the parent: none on the parts."""
    if stretch is None:
        return [None] * len(values)
    if weights is not None and len(weights) == len(values):
        shares = distribute(stretch, weights, field="stretch_value")
        if all(s >= v for s, v in zip(shares, values, strict=True)):
            return list(shares)
    return list(distribute(stretch, values, field="stretch_value"))


async def redistribute(session: AsyncSession, parent: Target) -> list[Target]:
    """Carry a parent's (new) value and stretch down to its parts in their current proportions, all the way down
    the tree; returns the parts whose value or stretch changed."""
    changed: list[Target] = []
    todo = [parent]
    while todo:
        current = todo.pop(0)
        parts = await parts_of(session, current.id)
        if not parts:
            continue
        values = distribute(current.target_value, [p.target_value for p in parts], field="target_value")
        old_stretches = [p.stretch_value for p in parts]
        shape = None if any(s is None for s in old_stretches) else [s for s in old_stretches if s is not None]
        stretches = part_stretches(current.stretch_value, values, shape)
        for part, value, stretch in zip(parts, values, stretches, strict=True):
            if (part.target_value, part.stretch_value) != (value, stretch):
                part.target_value, part.stretch_value = value, stretch
                part.original_currency = part.original_target_value = part.original_stretch_value = None
                part.fx_rate, part.fx_rate_on = None, None
                part.version += 1
                part.updated_at = current.updated_at
                changed.append(part)
        todo += parts
    return changed
