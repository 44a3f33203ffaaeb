"""Targets, decomposition, team targets and action plans (keyword-only, flush-only)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.config import GoalsSettings
from services.goals.decomposition import SplitMismatch, check_manual, money_text, split_even, split_weighted
from services.goals.forecast import ADDITIVE_METRICS, UNITS, q2
from services.goals.models import ActionItem, Target, platform
from services.goals.periods import InvalidPeriod
from services.goals.schemas import ActionItemCreate, ActionItemUpdate, SplitRequest, TargetCreate, TargetUpdate
from services.goals.tracking import calendar_of, evaluate_accounts
from shared.auth import Principal, ensure_account_access, require_writer
from shared.bus import add_event
from shared.errors import Conflict, Forbidden, InvalidTransition, NotFound, Unprocessable
from shared.events import TargetSet

ACTION_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("in_progress", "done", "cancelled"),
    "in_progress": ("open", "done", "cancelled"),
    "done": ("in_progress",),
    "cancelled": ("open",),
}
APPROVER_ROLES = frozenset({"admin", "supervisor"})


def _new_id() -> str:
    return str(uuid.uuid4())


async def create_target(
    session: AsyncSession,
    *,
    data: TargetCreate,
    principal: Principal,
    settings: GoalsSettings,
    now: datetime,
    parent: Target | None = None,
) -> Target:
    """Create a draft target for an account or an account manager's team."""
    require_writer(principal)
    try:
        period = calendar_of(settings).parse(data.period)
    except InvalidPeriod as exc:
        raise Unprocessable(str(exc), field="period") from exc
    if (data.account_id is None) == (data.owner_id is None):
        raise Unprocessable(
            "give exactly one of account_id (account target) or owner_id (team target)", field="account_id"
        )
    if data.metric == "custom" and not data.custom_metric:
        raise Unprocessable("custom metrics need a name", field="custom_metric")
    if data.stretch_value is not None and data.stretch_value < data.target_value:
        raise Unprocessable("the stretch target must not be below the target", field="stretch_value")
    owner_id = data.owner_id
    if data.account_id is not None:
        account = await ensure_account_access(session, platform, principal, data.account_id, write=True)
        owner_id = account["owner_id"]
    elif not principal.sees_whole_portfolio and data.owner_id != principal.user_id:
        raise Forbidden("account managers may set team targets only for themselves")
    target = Target(
        id=_new_id(),
        scope="account" if data.account_id else "team",
        account_id=data.account_id,
        owner_id=owner_id,
        metric=data.metric,
        custom_metric=data.custom_metric,
        unit=UNITS[data.metric] if data.metric not in ("revenue", "gross_profit") else data.currency,
        period=period.text,
        period_kind=period.kind,
        product_line=data.product_line,
        parent_id=parent.id if parent else None,
        target_value=data.target_value,
        stretch_value=data.stretch_value,
        currency=data.currency,
        status=parent.status if parent else "draft",
        note=data.note,
        at_risk=False,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(target)
    await session.flush()
    return target


async def get_target(session: AsyncSession, *, target_id: str, principal: Principal, write: bool = False) -> Target:
    """A target the principal may see (404 otherwise)."""
    target = await session.get(Target, target_id)
    if target is None:
        raise NotFound(f"Target {target_id} not found")
    if target.account_id is not None:
        try:
            await ensure_account_access(session, platform, principal, target.account_id, write=write)
        except NotFound as exc:
            raise NotFound(f"Target {target_id} not found") from exc
    else:
        if not principal.sees_whole_portfolio and target.owner_id != principal.user_id:
            raise NotFound(f"Target {target_id} not found")
        if write:
            require_writer(principal)
    return target


async def update_target(
    session: AsyncSession, *, target: Target, data: TargetUpdate, settings: GoalsSettings, now: datetime
) -> Target:
    """Change a target's values; a split target's children must still add up to it."""
    changes = data.model_dump(exclude_unset=True)
    if "target_value" in changes and changes["target_value"] is None:
        raise Unprocessable("target_value cannot be null", field="target_value")
    new_value = changes.get("target_value", target.target_value)
    if new_value != target.target_value:
        children = list(await session.scalars(select(Target).where(Target.parent_id == target.id)))
        if children:
            raise Conflict(
                "this target is split; split it again with the new value so the parts keep adding up",
                children=len(children),
            )
        if target.parent_id is not None:
            parent = await session.get(Target, target.parent_id)
            if parent is not None:
                siblings_sum = await session.scalar(
                    select(func.sum(Target.target_value)).where(Target.parent_id == parent.id, Target.id != target.id)
                )
                total = Decimal(str(siblings_sum or 0)) + new_value
                if total != parent.target_value:
                    raise Unprocessable(
                        f"the parts would add up to {money_text(total)} but the parent target is "
                        f"{money_text(parent.target_value)}: gap of {money_text(parent.target_value - total)}",
                        field="target_value",
                        gap=money_text(parent.target_value - total),
                    )
    stretch = changes.get("stretch_value", target.stretch_value)
    if stretch is not None and stretch < new_value:
        raise Unprocessable("the stretch target must not be below the target", field="stretch_value")
    for key, value in changes.items():
        setattr(target, key, value)
    target.version += 1
    target.updated_at = now
    await session.flush()
    if target.status == "approved":
        await _publish_target_set(session, target)
        if target.account_id:
            await evaluate_accounts(session, account_ids=[target.account_id], settings=settings, now=now)
    return target


async def create_targets(
    session: AsyncSession,
    *,
    items: list[TargetCreate],
    approve: bool,
    principal: Principal,
    settings: GoalsSettings,
    now: datetime,
) -> list[Target]:
    """Create several targets in one transaction; with ``approve`` approve them and re-track once."""
    if approve and not principal.has_any(APPROVER_ROLES):
        raise Forbidden("only a supervisor or an admin approves targets")
    targets = []
    for position, data in enumerate(items):
        try:
            targets.append(await create_target(session, data=data, principal=principal, settings=settings, now=now))
        except Unprocessable as exc:
            raise Unprocessable(f"targets.{position}: {exc.detail}", field=f"targets.{position}") from exc
    if approve:
        for target in targets:
            await approve_target(session, target=target, principal=principal, settings=settings, now=now, track=False)
        await evaluate_accounts(
            session, account_ids={t.account_id for t in targets if t.account_id}, settings=settings, now=now
        )
    return targets


async def approve_target(
    session: AsyncSession,
    *,
    target: Target,
    principal: Principal,
    settings: GoalsSettings,
    now: datetime,
    track: bool = True,
) -> Target:
    """draft → approved (by a supervisor or admin), with its children; publishes ``goals.target_set``."""
    if not principal.has_any(APPROVER_ROLES):
        raise Forbidden("only a supervisor or an admin approves targets")
    if target.status != "draft":
        raise InvalidTransition(f"target is {target.status}", current=target.status, allowed=[])
    todo = [target]
    while todo:
        current = todo.pop()
        current.status, current.approved_by, current.approved_at = "approved", principal.user_id, now
        current.version += 1
        current.updated_at = now
        await _publish_target_set(session, current)
        todo.extend(await session.scalars(select(Target).where(Target.parent_id == current.id)))
    await session.flush()
    if track and target.account_id:
        await evaluate_accounts(session, account_ids=[target.account_id], settings=settings, now=now)
    return target


async def _publish_target_set(session: AsyncSession, target: Target) -> None:
    if target.product_line is not None:
        return  # the event contract carries no product line; product-line parts stay internal
    await add_event(
        session,
        platform.outbox,
        TargetSet(
            source="goals",
            account_id=target.account_id,
            data={
                "target_id": target.id,
                "metric": target.metric,
                "period": target.period,
                "target_value": target.target_value,
                "stretch_value": target.stretch_value,
                "owner_id": target.owner_id,
            },
        ),
    )


def _split_values(
    target: Target, request: SplitRequest, keys: list[str], settings: GoalsSettings
) -> dict[str, Decimal]:
    """Values of the parts, adding up exactly to the target."""
    total = target.target_value
    if request.method == "even":
        return split_even(total, keys)
    if request.method == "seasonal":
        weights = request.weights
        if weights is None and request.template is not None:
            template = settings.seasonal_templates.get(request.template)
            if template is None:
                raise Unprocessable(
                    f"unknown seasonal template {request.template!r}; known: {', '.join(settings.seasonal_templates)}",
                    field="template",
                )
            weights = _template_for(template, keys, target, settings)
        if weights is None:
            raise Unprocessable("a seasonal split needs weights or a template", field="weights")
        try:
            return split_weighted(total, keys, weights)
        except ValueError as exc:
            raise Unprocessable(str(exc), field="weights") from exc
    if not request.parts:
        raise Unprocessable("a manual split needs parts", field="parts")
    unknown = sorted(set(request.parts) - set(keys)) if target.split_by != "product_line" else []
    if unknown:
        raise Unprocessable(f"parts {', '.join(unknown)} are not sub-periods of {target.period}", field="parts")
    missing = sorted(set(keys) - set(request.parts))
    if missing:
        raise Unprocessable(f"parts missing for {', '.join(missing)}", field="parts")
    try:
        return check_manual(total, {k: request.parts[k] for k in keys})
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


async def split_target(
    session: AsyncSession,
    *,
    target: Target,
    request: SplitRequest,
    principal: Principal,
    settings: GoalsSettings,
    now: datetime,
) -> list[Target]:
    """Replace a target's children by a split over sub-periods or product lines; the parts add up exactly."""
    if target.metric not in ADDITIVE_METRICS and target.metric not in ("new_business", "custom"):
        raise Unprocessable(f"{target.metric} is a ratio and does not add up; set each period's target", field="by")
    cal = calendar_of(settings)
    if request.by == "period":
        try:
            keys = [p.text for p in cal.children(cal.parse(target.period), request.into)]
        except Exception as exc:
            raise Unprocessable(str(exc), field="into") from exc
    else:
        if target.product_line is not None:
            raise Unprocessable("this target is already for one product line", field="by")
        if request.method == "manual":
            keys = list((request.parts or {}).keys())
        else:
            keys = request.product_lines or list(settings.product_lines)
    previous = target.split_by
    target.split_by = request.by
    try:
        values = _split_values(target, request, keys, settings)
    finally:
        target.split_by = previous
    existing = list(await session.scalars(select(Target).where(Target.parent_id == target.id)))
    if existing:
        has_grandchildren = await session.scalar(
            select(func.count()).select_from(Target).where(Target.parent_id.in_([c.id for c in existing]))
        )
        if has_grandchildren:
            raise Conflict("the current parts are split further; remove those splits first")
        await session.execute(delete(ActionItem).where(ActionItem.target_id.in_([c.id for c in existing])))
        await session.execute(delete(Target).where(Target.parent_id == target.id))
    children = []
    for key, value in values.items():
        child = await create_target(
            session,
            data=TargetCreate(
                account_id=target.account_id,
                owner_id=None if target.account_id else target.owner_id,
                metric=target.metric,
                custom_metric=target.custom_metric,
                period=key if request.by == "period" else target.period,
                product_line=key if request.by == "product_line" else target.product_line,
                target_value=value,
                stretch_value=q2(target.stretch_value * value / target.target_value)
                if target.stretch_value is not None and target.target_value
                else None,
                currency=target.currency,
            ),
            principal=principal,
            settings=settings,
            now=now,
            parent=target,
        )
        children.append(child)
    target.split_by, target.split_method = request.by, request.method
    target.version += 1
    target.updated_at = now
    await session.flush()
    return children


async def team_targets(
    session: AsyncSession, *, owner_id: str, period: str, settings: GoalsSettings
) -> list[dict[str, Any]]:
    """Per metric: the explicit team target of an account manager, the roll-up of their accounts, the effective one."""
    try:
        period = calendar_of(settings).parse(period).text
    except InvalidPeriod as exc:
        raise Unprocessable(str(exc), field="period") from exc
    accounts = platform.accounts
    rows = await session.execute(
        select(Target.metric, func.sum(Target.target_value), func.count(func.distinct(Target.account_id)))
        .join(accounts, accounts.c.account_id == Target.account_id)
        .where(
            accounts.c.owner_id == owner_id,
            Target.scope == "account",
            Target.period == period,
            Target.parent_id.is_(None),
            Target.product_line.is_(None),
        )
        .group_by(Target.metric)
    )
    rolled = {m: (Decimal(str(v or 0)), int(n)) for m, v, n in rows}
    explicit = {
        t.metric: t
        for t in await session.scalars(
            select(Target).where(Target.scope == "team", Target.owner_id == owner_id, Target.period == period)
        )
    }
    out = []
    for metric in sorted(set(rolled) | set(explicit)):
        if metric not in ADDITIVE_METRICS and metric not in explicit:
            continue
        value, count = rolled.get(metric, (Decimal(0), 0))
        own = explicit.get(metric)
        out.append(
            {
                "owner_id": owner_id,
                "metric": metric,
                "period": period,
                "explicit": own.target_value if own else None,
                "explicit_target_id": own.id if own else None,
                "rolled_up": value,
                "accounts": count,
                "effective": own.target_value if own else value,
                "source": "explicit" if own else "rolled_up",
            }
        )
    return out


# ---------------------------------------------------------------- action plans


async def create_action_item(
    session: AsyncSession, *, target: Target, data: ActionItemCreate, now: datetime
) -> ActionItem:
    """Add an action item under a target."""
    item = ActionItem(
        id=_new_id(),
        target_id=target.id,
        account_id=target.account_id,
        title=data.title,
        description=data.description,
        owner_id=data.owner_id,
        due_date=data.due_date,
        status=data.status,
        completed_at=now if data.status == "done" else None,
        expected_impact=data.expected_impact,
        linked_metric=data.linked_metric or target.metric,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(item)
    await session.flush()
    return item


async def update_action_item(
    session: AsyncSession, *, item: ActionItem, data: ActionItemUpdate, now: datetime
) -> ActionItem:
    """Change an action item; status moves follow ``ACTION_TRANSITIONS``."""
    changes = data.model_dump(exclude_unset=True)
    status = changes.pop("status", None)
    if status is not None and status != item.status:
        allowed = ACTION_TRANSITIONS[item.status]
        if status not in allowed:
            raise InvalidTransition(
                f"an action item cannot go from {item.status} to {status}", current=item.status, allowed=allowed
            )
        item.status = status
        item.completed_at = now if status == "done" else None
    for key, value in changes.items():
        if value is None and key in ("title", "owner_id", "due_date"):
            raise Unprocessable(f"{key} cannot be null", field=key)
        setattr(item, key, value)
    item.version += 1
    item.updated_at = now
    await session.flush()
    return item


def is_overdue(item: ActionItem, today: date) -> bool:
    """Open or in progress past its due date."""
    return item.status in ("open", "in_progress") and item.due_date < today


def completion_pct(statuses: list[str]) -> Decimal | None:
    """Done ÷ (all but cancelled) × 100."""
    counted = [s for s in statuses if s != "cancelled"]
    if not counted:
        return None
    return q2(Decimal(sum(1 for s in counted if s == "done")) / Decimal(len(counted)) * 100)
