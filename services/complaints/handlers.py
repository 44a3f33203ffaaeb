"""Consumed events of the complaints service: ``HANDLERS = {event class: [handler, ...]}``."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.improvement.service import follow_account_owner_actions
from services.complaints.intake.service import follow_account_owner
from services.complaints.intake.timers import apply_tier_change
from services.complaints.rules import Rules
from services.complaints.surveys.contacts import apply_contact_change
from services.complaints.taskforce.service import follow_account_owner_tasks
from shared.bus import HandlerContext, Handlers, merge_handlers
from shared.events import AccountOwnerChanged, AccountTierChanged, AccountUpdated, ContactChanged
from shared.projection import PROJECTION_HANDLERS


async def switch_open_complaints_to_new_tier(
    session: AsyncSession, event: AccountTierChanged | AccountUpdated, ctx: HandlerContext[Rules]
) -> None:
    """After the projection took the (new) tier, put the account's open complaints on that tier's policy."""
    if event.account_id is None:
        return
    await apply_tier_change(
        session, account_id=event.account_id, now=ctx.clock.now(), rules=ctx.extra, publisher=ctx.publisher
    )


async def hand_open_complaints_to_new_owner(
    session: AsyncSession, event: AccountOwnerChanged, ctx: HandlerContext[Rules]
) -> None:
    """Every item that still needs its owner follows the account to its new owner: the former owner's complaints
    not yet closed, and — when the former owner lost sight of the account — their open tasks and actions on it.

    Runs after the projection took the new owner and team (so "lost sight" is judged on the new access list).
    """
    if event.account_id is None:
        return
    account_id, old, new, now = event.account_id, event.data.old_owner_id, event.data.new_owner_id, ctx.clock.now()
    publisher = ctx.publisher  # complaints.assigned / complaints.task_assigned for each item handed over
    await follow_account_owner(
        session, account_id=account_id, old_owner_id=old, new_owner_id=new, now=now, publisher=publisher
    )
    await follow_account_owner_tasks(
        session, account_id=account_id, old_owner_id=old, new_owner_id=new, now=now, publisher=publisher
    )
    await follow_account_owner_actions(session, account_id=account_id, old_owner_id=old, new_owner_id=new, now=now)


async def keep_contact(session: AsyncSession, event: ContactChanged, ctx: HandlerContext[Rules]) -> None:
    """Keep the account's contacts (who may be surveyed, at which level, in which language)."""
    if event.account_id is None:
        return
    await apply_contact_change(session, account_id=event.account_id, data=event.data, changed_at=event.time)


HANDLERS: Handlers = merge_handlers(
    PROJECTION_HANDLERS,
    {
        AccountTierChanged: [switch_open_complaints_to_new_tier],
        AccountUpdated: [switch_open_complaints_to_new_tier],  # a snapshot may carry a new tier too
        AccountOwnerChanged: [hand_open_complaints_to_new_owner],
        ContactChanged: [keep_contact],
    },
)
