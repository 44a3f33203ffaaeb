"""The contacts projection: who at each account may be surveyed, as scoring announces them
(``accounts.contact_changed``); the latest change wins, whatever order the events arrive in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.surveys.models import SurveyContact
from shared.events.catalogue import ContactData


async def apply_contact_change(
    session: AsyncSession, *, account_id: str, data: ContactData, changed_at: datetime
) -> bool:
    """Upsert one contact (a retired one stays, inactive); an older change arriving late is ignored. True if kept."""
    row = await session.get(SurveyContact, data.contact_id)
    if row is None:
        row = SurveyContact(contact_id=data.contact_id, account_id=account_id, changed_at=changed_at)
        session.add(row)
    elif row.changed_at > changed_at:
        return False
    row.account_id, row.name, row.title, row.level = account_id, data.name, data.title, data.level
    row.email, row.phone, row.active = data.email, data.phone, data.active
    row.language = data.language if data.language in ("zh-CN", "en") else "zh-CN"
    row.changed_at = changed_at
    await session.flush()
    return True


async def active_contacts(session: AsyncSession, *, account_ids: Sequence[str], level: str) -> Sequence[SurveyContact]:
    """The active contacts at ``level`` of the accounts."""
    if not account_ids:
        return []
    query = select(SurveyContact).where(
        SurveyContact.account_id.in_(list(account_ids)), SurveyContact.level == level, SurveyContact.active.is_(True)
    )
    return (await session.execute(query.order_by(SurveyContact.account_id, SurveyContact.name))).scalars().all()
