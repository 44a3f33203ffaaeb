"""The in-app inbox: a user's notifications (newest first), the unread count, marking read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.delivery.models import Notification
from services.notifications.inbox.schemas import InboxItem, ReadAll, UnreadCount
from shared.api import PageParams
from shared.errors import NotFound


def _mine(user_id: str) -> list[ColumnElement[bool]]:
    return [Notification.user_id == user_id, Notification.in_inbox.is_(True)]


def read_item(notification: Notification) -> InboxItem:
    """An inbox item as the API shows it."""
    return InboxItem.model_validate(
        {
            **{c: getattr(notification, c) for c in InboxItem.model_fields if c != "read"},
            "read": notification.read_at is not None,
        }
    )


async def list_inbox(
    session: AsyncSession,
    *,
    user_id: str,
    page: PageParams,
    unread: bool | None = None,
    kind: str | None = None,
    critical: bool | None = None,
    account_id: str | None = None,
) -> tuple[list[Notification], int]:
    """The user's notifications, newest first, filtered."""
    clauses = _mine(user_id)
    if unread is not None:
        clauses.append(Notification.read_at.is_(None) if unread else Notification.read_at.is_not(None))
    if kind is not None:
        clauses.append(Notification.kind == kind)
    if critical is not None:
        clauses.append(Notification.critical.is_(critical))
    if account_id is not None:
        clauses.append(Notification.account_id == account_id)
    query = select(Notification).where(*clauses).order_by(Notification.created_at.desc(), Notification.id)
    total = await session.scalar(select(func.count()).select_from(Notification).where(*clauses))
    rows = (await session.execute(query.limit(page.limit).offset(page.offset))).scalars()
    return list(rows), int(total or 0)


async def unread_count(session: AsyncSession, *, user_id: str) -> UnreadCount:
    """The user's unread notifications."""
    clauses = [*_mine(user_id), Notification.read_at.is_(None)]
    unread = await session.scalar(select(func.count()).select_from(Notification).where(*clauses))
    critical = await session.scalar(
        select(func.count()).select_from(Notification).where(*clauses, Notification.critical.is_(True))
    )
    return UnreadCount(unread=int(unread or 0), critical=int(critical or 0))


async def inbox_item(session: AsyncSession, *, user_id: str, notification_id: str) -> Notification:
    """One of the user's own notifications (another user's is a 404, as if it did not exist)."""
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id or not notification.in_inbox:
        raise NotFound(f"Notification {notification_id} not found")
    return notification


async def mark_read(session: AsyncSession, *, notification: Notification, now: datetime) -> Notification:
    """Mark one notification read (again: unchanged)."""
    if notification.read_at is None:
        notification.read_at = now
        await session.flush()
    return notification


async def mark_unread(session: AsyncSession, *, notification: Notification) -> Notification:
    """Mark one notification unread again."""
    notification.read_at = None
    await session.flush()
    return notification


async def mark_all_read(session: AsyncSession, *, user_id: str, body: ReadAll, now: datetime) -> int:
    """Mark read every unread notification that arrived up to ``body.before`` (default now)."""
    clauses = [*_mine(user_id), Notification.read_at.is_(None), Notification.created_at <= (body.before or now)]
    if body.kind is not None:
        clauses.append(Notification.kind == body.kind)
    result = await session.execute(update(Notification).where(*clauses).values(read_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
