"""Targets: create (one or a batch), list, change, approve, roll up, team targets (keyword-only, flush only)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actions.models import ActionItem
from services.goals.actions.service import OPEN_STATUSES, completion_pct
from services.goals.config import GoalsSettings, calendar_of
from services.goals.currencies.service import rate_book, reporting_currency_of
from services.goals.decomposition import money_text
from services.goals.forecast import ADDITIVE_METRICS, UNITS
from services.goals.fx import convert, fits, no_rate
from services.goals.models import audit_log, platform
from services.goals.periods import InvalidPeriod, Period
from services.goals.targets.models import Target
from services.goals.targets.schemas import (
    RollupRead,
    TargetBatch,
    TargetConversionRead,
    TargetCreate,
    TargetFilters,
    TargetRead,
    TargetUpdate,
    TrackingRead,
)
from services.goals.targets.tracking import evaluate_accounts, red_alert_accounts, target_data, track_many
from services.goals.targets.tree import dedup_key, parts_of, redistribute, refuse_duplicate, subtree
from shared.api import PageParams
from shared.audit import record_audit
from shared.auth import (
    ACCOUNT_MANAGER,
    ADMIN,
    SUPERVISOR,
    Principal,
    ensure_account_access,
    require_writer,
    visible_accounts_clause,
)
from shared.bus import Publisher
from shared.clock import business_date
from shared.errors import Conflict, Forbidden, InvalidTransition, Unprocessable
from shared.events import TargetSet
from shared.events.catalogue import TargetData
from shared.money import one_currency
from shared.people import require_assignable

# The target state machine: a draft is approved (with its parts) or deleted; an approved target may be cancelled
# (with its parts, a reason and an audit entry); a cancelled target is final.
TARGET_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"approved"}),
    "approved": frozenset({"cancelled"}),
    "cancelled": frozenset(),
}
APPROVER_ROLES = frozenset({ADMIN, SUPERVISOR})
# Whose team a team target may be for.
TEAM_OWNER_ROLES = frozenset({ACCOUNT_MANAGER, SUPERVISOR})


def check_target_transition(target: Target, to: str) -> None:
    """Refuse a status move the state machine does not allow (409 naming the allowed moves)."""
    allowed = TARGET_TRANSITIONS[target.status]
    if to not in allowed:
        raise InvalidTransition(f"target is {target.status}", current=target.status, allowed=sorted(allowed))


@dataclass(frozen=True)
class _Amounts:
    """A new target's values in its account's reporting currency, and what was given if that differed."""

    currency: str
    target_value: Decimal
    stretch_value: Decimal | None
    given: dict[str, Any] = field(default_factory=dict)  # the Target columns that record the conversion


async def _in_reporting_currency(
    session: AsyncSession, *, body: TargetCreate, settings: GoalsSettings, now: datetime
) -> _Amounts:
    """The values in the account's reporting currency: another currency is converted with the latest rate on or
    before today (422 naming ``currency`` without one); a ratio or count takes no other currency."""
    reporting = await reporting_currency_of(session, body.account_id, settings=settings)
    given = body.currency or reporting
    if given == reporting:
        return _Amounts(reporting, body.target_value, body.stretch_value)
    if body.metric not in ADDITIVE_METRICS:
        raise Unprocessable(
            f"currency: a {body.metric} target is not an amount; leave out currency or give {reporting}",
            field="currency",
        )
    today = business_date(now, settings.zone)
    rate = (await rate_book(session, [(given, reporting)])).rate_on(given, reporting, today)
    if rate is None:
        raise Unprocessable(f"currency: {no_rate(given, reporting, today)}", field="currency", currency=given)
    target_value = convert(body.target_value, rate)
    stretch_value = None if body.stretch_value is None else convert(body.stretch_value, rate)
    if not fits(target_value) or (stretch_value is not None and not fits(stretch_value)):
        raise Unprocessable(f"target_value: too large once converted into {reporting}", field="target_value")
    return _Amounts(
        reporting,
        target_value,
        stretch_value,
        {
            "original_currency": given,
            "original_target_value": body.target_value,
            "original_stretch_value": body.stretch_value,
            "fx_rate": rate.rate,
            "fx_rate_on": rate.valid_on,
        },
    )


async def _owner_of(session: AsyncSession, *, body: TargetCreate, actor: Principal) -> str | None:
    """An account target's owner is the account's; a team target's must be a known, active account manager."""
    if body.account_id is not None:
        account = await ensure_account_access(session, platform, actor, body.account_id, write=True)
        owner: str | None = account["owner_id"]
        return owner
    if not actor.sees_whole_portfolio and body.owner_id != actor.user_id:
        raise Forbidden("account managers may set team targets only for themselves")
    await require_assignable(session, platform, user_id=body.owner_id, field="owner_id", roles=TEAM_OWNER_ROLES)
    return body.owner_id


def _check_create(body: TargetCreate, settings: GoalsSettings) -> Period:
    """What a new target must be on its own: a known period, one scope, a named custom metric, stretch ≥ target."""
    try:
        period = calendar_of(settings).parse(body.period)
    except InvalidPeriod as exc:
        raise Unprocessable(str(exc), field="period") from exc
    if (body.account_id is None) == (body.owner_id is None):
        raise Unprocessable(
            "give exactly one of account_id (account target) or owner_id (team target)", field="account_id"
        )
    if body.metric == "custom" and not body.custom_metric:
        raise Unprocessable("custom metrics need a name", field="custom_metric")
    if body.stretch_value is not None and body.stretch_value < body.target_value:
        raise Unprocessable("the stretch target must not be below the target", field="stretch_value")
    return period


async def create_target(
    session: AsyncSession,
    *,
    body: TargetCreate,
    actor: Principal,
    settings: GoalsSettings,
    now: datetime,
    parent: Target | None = None,
) -> Target:
    """Create a draft target for an account or an account manager's team."""
    require_writer(actor)
    period = _check_create(body, settings)
    owner_id = await _owner_of(session, body=body, actor=actor)
    key = dedup_key(
        scope="account" if body.account_id else "team",
        account_id=body.account_id,
        owner_id=owner_id,
        metric=body.metric,
        custom_metric=body.custom_metric,
        period=period.text,
        product_line=body.product_line,
    )
    await refuse_duplicate(session, key)
    amounts = await _in_reporting_currency(session, body=body, settings=settings, now=now)
    target = Target(
        id=str(uuid.uuid4()),
        scope="account" if body.account_id else "team",
        account_id=body.account_id,
        owner_id=owner_id,
        metric=body.metric,
        custom_metric=body.custom_metric,
        unit=amounts.currency if body.metric in ADDITIVE_METRICS else UNITS[body.metric],
        period=period.text,
        period_kind=period.kind,
        product_line=body.product_line,
        parent_id=parent.id if parent else None,
        target_value=amounts.target_value,
        stretch_value=amounts.stretch_value,
        currency=amounts.currency,
        status=parent.status if parent else "draft",
        dedup_key=key,
        approved_by=parent.approved_by if parent else None,
        approved_at=parent.approved_at if parent else None,
        note=body.note,
        at_risk=False,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        version=1,
        **amounts.given,
    )
    session.add(target)
    await session.flush()
    return target


async def list_targets(
    session: AsyncSession, *, actor: Principal, filters: TargetFilters, page: PageParams
) -> tuple[list[Target], int]:
    """Targets the actor may see that match ``filters``, newest period first, and their total."""
    query = select(Target)
    if not actor.sees_whole_portfolio:
        query = query.where(
            (visible_accounts_clause(platform, actor, Target.account_id) & Target.account_id.is_not(None))
            | ((Target.scope == "team") & (Target.owner_id == actor.user_id))
        )
    for column, value in (
        (Target.account_id, filters.account_id),
        (Target.owner_id, filters.owner_id),
        (Target.period, filters.period),
        (Target.metric, filters.metric),
        (Target.status, filters.status),
        (Target.scope, filters.scope),
        (Target.at_risk, filters.at_risk),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.top_level:
        query = query.where(Target.parent_id.is_(None))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    targets = await session.scalars(
        query.order_by(Target.period.desc(), Target.metric, Target.id).limit(page.limit).offset(page.offset)
    )
    return list(targets), int(total or 0)


async def update_target(
    session: AsyncSession,
    *,
    target: Target,
    body: TargetUpdate,
    actor: Principal,
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
) -> Target:
    """Change a target's values. A split target's new value (and stretch) is carried down to its parts in their
    current proportions; a part must keep the parts adding up (422 naming the gap) and takes its parent's stretch."""
    if target.status == "cancelled":
        raise Conflict("the target is cancelled; a cancelled target does not change", target_status=target.status)
    if target.status == "approved" and "target_value" in body.model_fields_set and not actor.has_any(APPROVER_ROLES):
        raise Forbidden("only a supervisor or an admin changes an approved target's value")
    changes = body.model_dump(exclude_unset=True)
    if "target_value" in changes and changes["target_value"] is None:
        raise Unprocessable("target_value cannot be null", field="target_value")
    new_value = changes.get("target_value", target.target_value)
    stretch = changes.get("stretch_value", target.stretch_value)
    if target.parent_id is not None and stretch != target.stretch_value:
        raise Unprocessable(
            "a part's stretch follows its parent's (in proportion to the part's value); change the parent's",
            field="stretch_value",
            parent_id=target.parent_id,
        )
    parts = await parts_of(session, target.id)
    if new_value != target.target_value and not parts:
        await _check_part_still_adds_up(session, target, new_value)
    if stretch is not None and stretch < new_value:
        raise Unprocessable("the stretch target must not be below the target", field="stretch_value")
    if target.original_currency is not None and {"target_value", "stretch_value"} & set(changes):
        # New values are given in the target's own currency: the record of a conversion no longer applies.
        target.original_currency = target.original_target_value = target.original_stretch_value = None
        target.fx_rate, target.fx_rate_on = None, None
    for key, value in changes.items():
        setattr(target, key, value)
    target.version += 1
    target.updated_at = now
    changed_parts = await redistribute(session, target) if parts else []
    await session.flush()
    if target.status == "approved":
        for changed in [target, *changed_parts]:
            await publish_target_set(session, publisher, changed)
        await retrack(session, target, settings=settings, publisher=publisher, now=now)
    return target


async def retrack(
    session: AsyncSession, target: Target, *, settings: GoalsSettings, publisher: Publisher, now: datetime
) -> None:
    """Re-track the approved targets of a target's account (a team target: of its owner)."""
    await evaluate_accounts(
        session,
        account_ids=[target.account_id] if target.account_id else [],
        owner_ids=[target.owner_id] if target.scope == "team" and target.owner_id else [],
        settings=settings,
        publisher=publisher,
        now=now,
    )


async def _check_part_still_adds_up(session: AsyncSession, target: Target, new_value: Decimal) -> None:
    """A part's new value must keep the parts adding up to their parent (422 with the gap)."""
    if target.parent_id is None:
        return
    parent = await session.get(Target, target.parent_id)
    if parent is None:
        return
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


async def cancel_target(
    session: AsyncSession,
    *,
    target: Target,
    reason: str,
    actor: Principal,
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
) -> Target:
    """approved → cancelled (a supervisor or admin, with a reason), together with its parts. Their open and
    in-progress action items are cancelled (done ones keep their record); the cancellation is audited. A
    cancelled target is no longer tracked, rolled up or counted, and frees its key for a new target."""
    if not actor.has_any(APPROVER_ROLES):
        raise Forbidden("only a supervisor or an admin cancels a target")
    if target.status == "draft":
        raise InvalidTransition(
            "the target is a draft: delete it (DELETE /goals/targets/{id}) instead of cancelling it",
            current=target.status,
            allowed=sorted(TARGET_TRANSITIONS[target.status]),
        )
    check_target_transition(target, "cancelled")
    if target.parent_id is not None:
        raise Conflict(
            "the target is a part of a split: cancel its parent, or split the parent again without it",
            parent_id=target.parent_id,
        )
    tree = await subtree(session, target)
    for node in tree:
        node.status, node.dedup_key = "cancelled", None
        node.cancelled_at, node.cancelled_by, node.cancel_reason = now, actor.user_id, reason
        node.at_risk, node.at_risk_since = False, None
        node.version += 1
        node.updated_at = now
    items = list(
        await session.scalars(
            select(ActionItem).where(
                ActionItem.target_id.in_([n.id for n in tree]), ActionItem.status.in_(OPEN_STATUSES)
            )
        )
    )
    for item in items:
        item.status, item.updated_at = "cancelled", now
        item.version += 1
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="target.cancelled",
        object_type="target",
        object_id=target.id,
        before={"status": "approved"},
        after={
            "status": "cancelled",
            "reason": reason,
            "parts_cancelled": sorted(n.id for n in tree[1:]),
            "action_items_cancelled": sorted(i.id for i in items),
        },
        at=now,
    )
    return target


async def delete_draft(session: AsyncSession, *, target: Target, actor: Principal) -> int:
    """Delete a draft together with its parts and their action items (only drafts: 409 naming the status; a part
    goes only with its parent's split). Returns how many targets were deleted."""
    require_writer(actor)
    if target.status != "draft":
        raise Conflict(
            f"only a draft is deleted; this target is {target.status}"
            + (" (cancel it instead)" if target.status == "approved" else ""),
            target_status=target.status,
        )
    if target.parent_id is not None:
        raise Conflict(
            "the target is a part of a split: remove or redo its parent's split instead", parent_id=target.parent_id
        )
    tree = await subtree(session, target)
    ids = [n.id for n in tree]
    await session.execute(delete(ActionItem).where(ActionItem.target_id.in_(ids)))
    for node in reversed(tree):  # parts before their parents
        await session.delete(node)
        await session.flush()
    return len(tree)


async def create_targets(
    session: AsyncSession,
    *,
    body: TargetBatch,
    actor: Principal,
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
) -> list[Target]:
    """Create several targets in one transaction; with ``approve`` approve them and re-track once."""
    if body.approve:
        await require_approver(session, actor=actor)
    targets = []
    for position, item in enumerate(body.targets):
        try:
            targets.append(await create_target(session, body=item, actor=actor, settings=settings, now=now))
        except Unprocessable as exc:
            raise Unprocessable(f"targets.{position}: {exc.detail}", field=f"targets.{position}") from exc
        except Conflict as exc:  # a duplicate (of a stored target or an earlier item)
            raise Conflict(f"targets.{position}: {exc.detail}", field=f"targets.{position}", **exc.extra) from exc
    if body.approve:
        for target in targets:
            await _approve(session, target=target, actor=actor, publisher=publisher, now=now)
        await evaluate_accounts(
            session,
            account_ids={t.account_id for t in targets if t.account_id},
            owner_ids={t.owner_id for t in targets if t.scope == "team" and t.owner_id},
            settings=settings,
            publisher=publisher,
            now=now,
        )
    return targets


async def require_approver(session: AsyncSession, *, actor: Principal, account_id: str | None = None) -> None:
    """The actor approves: a supervisor or admin (403 otherwise) whom the users projection knows as an active
    approver (422 naming ``approved_by`` otherwise)."""
    if not actor.has_any(APPROVER_ROLES):
        raise Forbidden("only a supervisor or an admin approves targets")
    await require_assignable(
        session, platform, user_id=actor.user_id, field="approved_by", account_id=account_id, roles=APPROVER_ROLES
    )


async def approve_target(
    session: AsyncSession,
    *,
    target: Target,
    actor: Principal,
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
) -> Target:
    """draft → approved (by a supervisor or admin), with its children; publishes ``goals.target_set``."""
    await require_approver(session, actor=actor, account_id=target.account_id)
    await _approve(session, target=target, actor=actor, publisher=publisher, now=now)
    await retrack(session, target, settings=settings, publisher=publisher, now=now)
    return target


async def _approve(
    session: AsyncSession, *, target: Target, actor: Principal, publisher: Publisher, now: datetime
) -> None:
    """Approve a draft and its parts (the approver is checked by the caller), publishing ``goals.target_set``."""
    check_target_transition(target, "approved")
    todo = [target]
    while todo:
        current = todo.pop()
        current.status, current.approved_by, current.approved_at = "approved", actor.user_id, now
        current.version += 1
        current.updated_at = now
        await publish_target_set(session, publisher, current)
        todo.extend(await session.scalars(select(Target).where(Target.parent_id == current.id)))
    await session.flush()


async def publish_target_set(session: AsyncSession, publisher: Publisher, target: Target) -> None:
    if target.product_line is not None:
        return  # the event contract carries no product line; product-line parts stay internal
    data = TargetData.model_validate(target_data(target))
    await publisher.publish(session, TargetSet, data, account_id=target.account_id)


async def rollup(session: AsyncSession, *, target: Target, settings: GoalsSettings, today: date) -> RollupRead:
    """A target, its parts and whether they add up to it."""
    children = list(
        await session.scalars(
            select(Target).where(Target.parent_id == target.id).order_by(Target.period, Target.product_line)
        )
    )
    currency = one_currency([target.currency, *(c.currency for c in children)]) or target.currency
    total = sum((c.target_value for c in children), Decimal(0))
    return RollupRead(
        target_id=target.id,
        currency=currency,
        target_value=target.target_value,
        children_sum=total,
        consistent=not children or total == target.target_value,
        children=await read_targets(session, children, settings=settings, today=today),
    )


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
        select(
            Target.metric,
            Target.currency,
            func.sum(Target.target_value),
            func.count(func.distinct(Target.account_id)),
        )
        .join(accounts, accounts.c.account_id == Target.account_id)
        .where(
            accounts.c.owner_id == owner_id,
            Target.scope == "account",
            Target.period == period,
            Target.parent_id.is_(None),
            Target.product_line.is_(None),
            Target.status != "cancelled",
        )
        .group_by(Target.metric, Target.currency)
    )
    rolled: dict[str, dict[str, tuple[Decimal, int]]] = {}
    for metric, currency, value, count in rows:
        rolled.setdefault(metric, {})[currency] = (Decimal(str(value or 0)), int(count))
    explicit = {
        t.metric: t
        for t in await session.scalars(
            select(Target).where(
                Target.scope == "team",
                Target.owner_id == owner_id,
                Target.period == period,
                Target.status != "cancelled",
                Target.parent_id.is_(None),
                Target.product_line.is_(None),
            )
        )
    }
    return [
        _team_row(owner_id, metric, period, rolled.get(metric, {}), explicit.get(metric))
        for metric in sorted(set(rolled) | set(explicit))
        if metric in ADDITIVE_METRICS or metric in explicit
    ]


def _team_row(
    owner_id: str, metric: str, period: str, rolled: dict[str, tuple[Decimal, int]], own: Target | None
) -> dict[str, Any]:
    """One metric's team target: an amount is rolled up only within one currency (else 422 naming currency)."""
    currency = None
    if metric in ADDITIVE_METRICS:
        currency = one_currency([*rolled, *([own.currency] if own else [])], field="currency")
    value = sum((v for v, _ in rolled.values()), Decimal(0))
    count = sum(n for _, n in rolled.values())
    return {
        "owner_id": owner_id,
        "metric": metric,
        "period": period,
        "explicit": own.target_value if own else None,
        "explicit_target_id": own.id if own else None,
        "rolled_up": value,
        "accounts": count,
        "effective": own.target_value if own else value,
        "currency": currency,
        "source": "explicit" if own else "rolled_up",
    }


async def team_targets_of_owners(
    session: AsyncSession, *, actor: Principal, period: str, owner_id: str | None, settings: GoalsSettings
) -> list[dict[str, Any]]:
    """Team targets of one account manager or of every owner (account managers: only their own)."""
    if not actor.sees_whole_portfolio:
        owner_id = actor.user_id
    if owner_id is None:
        owners = sorted(
            o
            for o in await session.scalars(
                select(platform.accounts.c.owner_id).where(platform.accounts.c.owner_id.is_not(None)).distinct()
            )
            if o
        )
    else:
        owners = [owner_id]
    rows: list[dict[str, Any]] = []
    for owner in owners:
        rows += await team_targets(session, owner_id=owner, period=period, settings=settings)
    return rows


async def hand_over_running_targets(
    session: AsyncSession,
    *,
    account_id: str,
    old_owner_id: str,
    new_owner_id: str,
    settings: GoalsSettings,
    today: date,
) -> int:
    """An account changed hands: its targets of periods not yet over follow the new owner."""
    cal = calendar_of(settings)
    targets = list(
        await session.scalars(
            select(Target).where(
                Target.account_id == account_id, Target.scope == "account", Target.owner_id == old_owner_id
            )
        )
    )
    running = [t for t in targets if cal.parse(t.period).end > today]
    for target in running:
        target.owner_id = new_owner_id
    await session.flush()
    return len(running)


async def read_targets(
    session: AsyncSession, targets: list[Target], *, settings: GoalsSettings, today: date
) -> list[TargetRead]:
    """Targets as the API shows them: with tracking, red alert and action-plan completion."""
    tracked = await track_many(session, targets, settings=settings, today=today)
    red = await red_alert_accounts(session, [t.account_id for t in targets if t.account_id])
    completion: dict[str, list[str]] = {}
    if targets:
        for target_id, status in await session.execute(
            select(ActionItem.target_id, ActionItem.status).where(ActionItem.target_id.in_([t.id for t in targets]))
        ):
            completion.setdefault(target_id, []).append(status)
    out = []
    for t in targets:
        data = {c: getattr(t, c) for c in Target.__table__.columns.keys()}
        data["achieved"] = t.achieved_at is not None
        data["missed"] = t.missed_at is not None
        data["red_alert"] = t.account_id in red
        data["tracking"] = TrackingRead(**tracked[t.id].__dict__)
        data["action_completion_pct"] = completion_pct(completion.get(t.id, []))
        data["conversion"] = _conversion(t)
        out.append(TargetRead.model_validate(data))
    return out


def _conversion(target: Target) -> TargetConversionRead | None:
    """What a target converted from another currency was given in, and the rate used."""
    if target.original_currency is None or target.fx_rate is None or target.fx_rate_on is None:
        return None
    return TargetConversionRead(
        currency=target.original_currency,
        target_value=target.original_target_value,
        stretch_value=target.original_stretch_value,
        rate=Decimal(str(target.fx_rate)).normalize(),
        rate_valid_on=target.fx_rate_on,
    )


async def read_target(session: AsyncSession, target: Target, *, settings: GoalsSettings, today: date) -> TargetRead:
    """One target as the API shows it."""
    return (await read_targets(session, [target], settings=settings, today=today))[0]
