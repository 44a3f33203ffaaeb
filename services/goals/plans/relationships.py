"""The relationship map (关系图谱) of a plan: the account's contacts kept from scoring's ``accounts.contact_changed``
(the newest event per contact wins) and read by level — executive, decision, execution."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.plans.models import AccountContact
from services.goals.plans.schemas import ContactLine, RelationshipLevel
from shared.clock import ensure_aware
from shared.events import ContactData

# The layered communication levels of the domain, top first; other levels follow in name order.
LEVEL_ORDER: tuple[str, ...] = ("executive", "decision", "execution")


async def upsert_contact(session: AsyncSession, *, account_id: str, data: ContactData, event_time: datetime) -> None:
    """Keep a contact as the event states it, unless a newer event about it was applied already."""
    when = ensure_aware(event_time)
    contact = await session.get(AccountContact, data.contact_id)
    if contact is None:
        contact = AccountContact(contact_id=data.contact_id, account_id=account_id, event_time=when)
        session.add(contact)
    elif ensure_aware(contact.event_time) > when:
        return
    contact.account_id, contact.event_time = account_id, when
    contact.name, contact.title = data.name[:200], (data.title or None) and data.title[:200]
    contact.level, contact.active = data.level[:40], data.active
    await session.flush()


def _level_key(level: str) -> tuple[int, str]:
    return (LEVEL_ORDER.index(level) if level in LEVEL_ORDER else len(LEVEL_ORDER), level)


async def relationship_map(session: AsyncSession, *, account_id: str) -> list[RelationshipLevel]:
    """The account's active contacts grouped by level (top level first, names in order)."""
    contacts = await session.scalars(
        select(AccountContact)
        .where(AccountContact.account_id == account_id, AccountContact.active.is_(True))
        .order_by(AccountContact.name, AccountContact.contact_id)
    )
    levels: dict[str, list[ContactLine]] = {}
    for c in contacts:
        levels.setdefault(c.level, []).append(ContactLine(contact_id=c.contact_id, name=c.name, title=c.title))
    return [RelationshipLevel(level=k, contacts=levels[k]) for k in sorted(levels, key=_level_key)]
