"""Action plans: items under a target, their status moves, overdue items and completion, and the due / overdue
notices of open items (flush only)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, get_args

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.goals.actions.models import ActionItem
from services.goals.actions.schemas import ActionItemCreate, ActionItemRead, ActionItemUpdate, ActionStatus
from services.goals.forecast import q2
from services.goals.models import platform
from services.goals.targets.models import Target
from shared.api import PageParams
from shared.auth import Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.errors import Conflict, InvalidTransition, Unprocessable
from shared.events import EventBase, GoalsActionItemDue, GoalsActionItemOverdue
from shared.events.catalogue import GoalsActionItemData
from shared.people import require_assignable

ACTION_STATUSES: tuple[ActionStatus, ...] = get_args(ActionStatus)
# The action-item state machine: from each status, the statuses it may move to.
ACTION_TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "done", "cancelled"}),
    "in_progress": frozenset({"open", "done", "cancelled"}),
    "done": frozenset({"in_progress"}),
    "cancelled": frozenset({"open"}),
}
# Statuses in which an item still has work to do (and can be overdue).
OPEN_STATUSES: tuple[ActionStatus, ...] = ("open", "in_progress")


def allowed_moves(status: str) -> list[str]:
    """The statuses an item in ``status`` may move to, in the canonical order of statuses."""
    return [s for s in ACTION_STATUSES if s in ACTION_TRANSITIONS[status]]


async def create_action_item(
    session: AsyncSession, *, target: Target, body: ActionItemCreate, now: datetime
) -> ActionItem:
    """Add an action item under a target; its owner must be able to work on the target's account (a cancelled
    target takes no new items: 409)."""
    if target.status == "cancelled":
        raise Conflict("the target is cancelled; it takes no new action items", target_status=target.status)
    await require_assignable(session, platform, user_id=body.owner_id, field="owner_id", account_id=target.account_id)
    item = ActionItem(
        id=str(uuid.uuid4()),
        target_id=target.id,
        account_id=target.account_id,
        title=body.title,
        description=body.description,
        owner_id=body.owner_id,
        due_date=body.due_date,
        status=body.status,
        completed_at=now if body.status == "done" else None,
        expected_impact=body.expected_impact,
        linked_metric=body.linked_metric or target.metric,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(item)
    await session.flush()
    return item


async def update_action_item(
    session: AsyncSession, *, item: ActionItem, body: ActionItemUpdate, now: datetime
) -> ActionItem:
    """Change an action item; status moves follow ``ACTION_TRANSITIONS``. A new due date is a new occurrence:
    its due and overdue notices are sent again when they come."""
    changes = body.model_dump(exclude_unset=True)
    status = changes.pop("status", None)
    if status is not None and status != item.status:
        if status not in ACTION_TRANSITIONS[item.status]:
            raise InvalidTransition(
                f"an action item cannot go from {item.status} to {status}",
                current=item.status,
                allowed=allowed_moves(item.status),
            )
        item.status = status
        item.completed_at = now if status == "done" else None
    for key, value in changes.items():
        if value is None and key in ("title", "owner_id", "due_date"):
            raise Unprocessable(f"{key} cannot be null", field=key)
    if changes.get("owner_id") not in (None, item.owner_id):
        await require_assignable(
            session, platform, user_id=changes["owner_id"], field="owner_id", account_id=item.account_id
        )
    if changes.get("due_date") not in (None, item.due_date):
        item.due_notified_at = item.overdue_notified_at = None
    for key, value in changes.items():
        setattr(item, key, value)
    item.version += 1
    item.updated_at = now
    await session.flush()
    return item


async def target_action_items(session: AsyncSession, *, target: Target) -> list[ActionItem]:
    """The action items under a target, by due date."""
    items = await session.scalars(
        select(ActionItem).where(ActionItem.target_id == target.id).order_by(ActionItem.due_date, ActionItem.id)
    )
    return list(items)


async def list_action_items(
    session: AsyncSession,
    *,
    actor: Principal,
    today: date,
    page: PageParams,
    overdue: bool | None = None,
    status: ActionStatus | None = None,
    owner_id: str | None = None,
    account_id: str | None = None,
) -> tuple[list[ActionItem], int]:
    """Action items the actor may see (``overdue=True``: open items past their due date) and their total."""
    query = select(ActionItem).where(visible_accounts_clause(platform, actor, ActionItem.account_id))
    if overdue is True:
        query = query.where(ActionItem.status.in_(OPEN_STATUSES), ActionItem.due_date < today)
    if status is not None:
        query = query.where(ActionItem.status == status)
    if owner_id is not None:
        query = query.where(ActionItem.owner_id == owner_id)
    if account_id is not None:
        query = query.where(ActionItem.account_id == account_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    items = await session.scalars(
        query.order_by(ActionItem.due_date, ActionItem.id).limit(page.limit).offset(page.offset)
    )
    return list(items), int(total or 0)


def is_overdue(item: ActionItem, today: date) -> bool:
    """Open or in progress past its due date."""
    return item.status in OPEN_STATUSES and item.due_date < today


def completion_pct(statuses: list[str]) -> Decimal | None:
    """Done ÷ (all but cancelled) × 100."""
    counted = [s for s in statuses if s != "cancelled"]
    if not counted:
        return None
    return q2(Decimal(sum(1 for s in counted if s == "done")) / Decimal(len(counted)) * 100)


async def hand_over_open_items(
    session: AsyncSession, *, account_id: str, old_owner_id: str, new_owner_id: str, now: datetime
) -> int:
    """An account changed hands: its open and in-progress items of the former owner follow the new owner."""
    items = list(
        await session.scalars(
            select(ActionItem).where(
                ActionItem.account_id == account_id,
                ActionItem.owner_id == old_owner_id,
                ActionItem.status.in_(OPEN_STATUSES),
            )
        )
    )
    for item in items:
        item.owner_id, item.updated_at = new_owner_id, now
        item.version += 1
    await session.flush()
    return len(items)


async def announce_action_item_dates(
    session: AsyncSession, *, publisher: Publisher, now: datetime, today: date, due_within_days: int
) -> dict[str, int]:
    """The periodic notices of open (or in-progress) items, each published once per due date:
    ``goals.action_item_due`` when the due date is from ``today`` to ``due_within_days`` days after it, and
    ``goals.action_item_overdue`` once it is before ``today`` (business dates in the company's zone).

    ``due_notified_at`` / ``overdue_notified_at`` mark what was sent in the same transaction, so a repeated run
    or a restart sends nothing again; an item first seen past its date gets only the overdue notice.
    """
    overdue = await _unannounced(session, ActionItem.overdue_notified_at, ActionItem.due_date < today)
    for item in overdue:
        item.overdue_notified_at = now
        await _announce(session, publisher, GoalsActionItemOverdue, item)
    horizon = today + timedelta(days=due_within_days)
    due = await _unannounced(
        session, ActionItem.due_notified_at, ActionItem.due_date >= today, ActionItem.due_date <= horizon
    )
    for item in due:
        item.due_notified_at = now
        await _announce(session, publisher, GoalsActionItemDue, item)
    await session.flush()
    return {"due": len(due), "overdue": len(overdue)}


async def _unannounced(
    session: AsyncSession, mark: InstrumentedAttribute[datetime | None], *when: Any
) -> list[ActionItem]:
    """Open items matching ``when`` whose ``mark`` is not set, by due date (replicas skip rows another holds)."""
    query = (
        select(ActionItem)
        .where(ActionItem.status.in_(OPEN_STATUSES), mark.is_(None), *when)
        .order_by(ActionItem.due_date, ActionItem.id)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def _announce(session: AsyncSession, publisher: Publisher, event: type[EventBase], item: ActionItem) -> None:
    data = GoalsActionItemData(
        item_id=item.id, target_id=item.target_id, title=item.title, owner_id=item.owner_id, due_on=item.due_date
    )
    await publisher.publish(session, event, data, account_id=item.account_id)


def read_action_item(item: ActionItem, today: date) -> ActionItemRead:
    """An action item as the API shows it (with ``overdue`` as of ``today``)."""
    data = {c: getattr(item, c) for c in ActionItem.__table__.columns.keys()}
    data["overdue"] = is_overdue(item, today)
    return ActionItemRead.model_validate(data)
