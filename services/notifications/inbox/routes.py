"""HTTP routes of the in-app inbox: the caller's own notifications only."""

from __future__ import annotations

from fastapi import APIRouter

from services.notifications.deps import AccountIdQuery, Actor, KindQuery, MyNotification, PageDep
from services.notifications.inbox import service
from services.notifications.inbox.schemas import InboxItem, ReadAll, ReadAllResult, UnreadCount
from shared.api import Page
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(prefix="/notifications/inbox", tags=["notifications: inbox"], responses=PROBLEM_RESPONSES)


@router.get("", summary="My notifications (newest first)")
async def list_inbox(
    actor: Actor,
    session: SessionDep,
    page: PageDep,
    unread: bool | None = None,
    kind: KindQuery = None,
    critical: bool | None = None,
    account_id: AccountIdQuery = None,
) -> Page[InboxItem]:
    """The caller's notifications with links to their objects in the console; filter unread, kind, critical."""
    rows, total = await service.list_inbox(
        session, user_id=actor.user_id, page=page, unread=unread, kind=kind, critical=critical, account_id=account_id
    )
    return Page(items=[service.read_item(n) for n in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/unread-count", summary="How many of my notifications are unread")
async def unread_count(actor: Actor, session: SessionDep) -> UnreadCount:
    """The badge: unread notifications, and how many of them are critical."""
    return await service.unread_count(session, user_id=actor.user_id)


@router.get("/{notification_id}", summary="One of my notifications")
async def get_item(notification: MyNotification) -> InboxItem:
    """One notification of the caller's (another user's is a 404)."""
    return service.read_item(notification)


@router.post("/{notification_id}/read", summary="Mark one notification read")
async def mark_read(notification: MyNotification, session: SessionDep, clock: ClockDep) -> InboxItem:
    """Mark read (again: unchanged)."""
    return service.read_item(await service.mark_read(session, notification=notification, now=clock.now()))


@router.post("/{notification_id}/unread", summary="Mark one notification unread")
async def mark_unread(notification: MyNotification, session: SessionDep) -> InboxItem:
    """Mark unread again."""
    return service.read_item(await service.mark_unread(session, notification=notification))


@router.post("/read-all", summary="Mark all my notifications read")
async def mark_all_read(
    actor: Actor, session: SessionDep, clock: ClockDep, body: ReadAll | None = None
) -> ReadAllResult:
    """Mark read everything that arrived up to ``before`` (default now), optionally of one kind."""
    marked = await service.mark_all_read(session, user_id=actor.user_id, body=body or ReadAll(), now=clock.now())
    return ReadAllResult(marked=marked)
