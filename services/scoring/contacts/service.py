"""Contacts of an account: add, change and retire them (audited, published), the duplicate and reporting-line
rules, their history and the account's org chart."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.contacts import level_review
from services.scoring.contacts.org_chart import Branch, Person, build_tree, makes_cycle
from services.scoring.contacts.schemas import (
    ContactChange,
    ContactCreate,
    ContactRead,
    ContactRetire,
    ContactUpdate,
    OrgChart,
    OrgChartNode,
)
from services.scoring.features import AsOf
from services.scoring.models import audit_log
from services.scoring.registry.models import Account, Contact
from services.scoring.scores.consistency import rescoring
from services.scoring.scores.feature_store import refresh_contact_level
from shared.audit import record_audit, snapshot
from shared.auth import Principal
from shared.bus import Publisher
from shared.db import PlatformTables
from shared.errors import Conflict, Unprocessable
from shared.events import ContactChanged
from shared.events.catalogue import ContactData

# What the history of a contact shows (audit entries' before/after).
AUDITED = (
    "name",
    "title",
    "level",
    "email",
    "phone",
    "language",
    "role",
    "attitude",
    "reports_to_id",
    "retired_at",
    "retire_reason",
)
# Fields a change may set to null (the others keep their value when null is sent).
NULLABLE = ("title", "email", "phone", "role", "attitude", "reports_to_id")


def new_contact(account_id: str, body: ContactCreate, actor: Principal, now: datetime) -> Contact:
    """A contact row (checked already); its level counts once confirmed (level_review.py)."""
    fields = body.model_dump()
    fields["name"] = fields["name"].strip()
    contact = Contact(id=str(uuid.uuid4()), account_id=account_id, created_at=now, updated_at=now, version=1, **fields)
    level_review.reported(contact, actor=actor, now=now)
    return contact


def registration_contacts(
    account_id: str, bodies: Sequence[ContactCreate], actor: Principal, now: datetime
) -> list[Contact]:
    """The contacts of a registration: no two with the same name and level (409), none reporting to anyone yet
    (the ids are not known before: set ``reports_to_id`` afterwards; 422 naming ``contacts.N.reports_to_id``)."""
    seen: dict[tuple[str, str], int] = {}
    for i, body in enumerate(bodies):
        if body.reports_to_id is not None:
            raise Unprocessable(
                "reports_to_id is set once both contacts exist (PATCH the contact)", field=f"contacts.{i}.reports_to_id"
            )
        key = (body.name.strip(), body.level)
        if key in seen:
            raise Conflict(f"contacts.{i} repeats contacts.{seen[key]} ({key[0]}, {key[1]})", field=f"contacts.{i}")
        seen[key] = i
    return [new_contact(account_id, body, actor, now) for body in bodies]


async def publish_contact(session: AsyncSession, publisher: Publisher, contact: Contact, *, now: datetime) -> None:
    """``accounts.contact_changed`` with the whole contact (``active`` false once it is retired)."""
    data = ContactData(
        contact_id=contact.id,
        name=contact.name,
        title=contact.title,
        level=contact.level,
        email=contact.email,
        phone=contact.phone,
        language=contact.language,
        active=contact.retired_at is None,
        role=contact.role,
        attitude=contact.attitude,
        reports_to_id=contact.reports_to_id,
    )
    await publisher.publish(session, ContactChanged, data, account_id=contact.account_id, time=now)


async def _check_unique(session: AsyncSession, *, account_id: str, name: str, level: str, own_id: str = "") -> None:
    """No two active contacts of an account share a name and level: 409 naming the one there is."""
    existing = await session.scalar(
        select(Contact.id).where(
            Contact.account_id == account_id,
            Contact.name == name.strip(),
            Contact.level == level,
            Contact.retired_at.is_(None),
            Contact.id != own_id,
        )
    )
    if existing is not None:
        raise Conflict(
            f"Account already has the {level} contact {name.strip()!r} ({existing})", contact_id=existing, field="name"
        )


async def _check_reports_to(session: AsyncSession, *, account_id: str, contact_id: str, reports_to_id: str) -> None:
    """``reports_to_id`` names an active contact of the same account and closes no loop (422 naming it)."""
    manager = await session.get(Contact, reports_to_id)
    if manager is None or manager.account_id != account_id or manager.retired_at is not None:
        raise Unprocessable(f"Contact {reports_to_id} is no active contact of this account", field="reports_to_id")
    rows = await session.execute(select(Contact.id, Contact.reports_to_id).where(Contact.account_id == account_id))
    manager_of: dict[str, str | None] = {row.id: row.reports_to_id for row in rows}
    if makes_cycle(contact_id, reports_to_id, manager_of):
        raise Unprocessable(f"Reporting to {reports_to_id} would make a reporting loop", field="reports_to_id")


async def add_contact(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account: Account,
    body: ContactCreate,
    actor: Principal,
    at: AsOf,
) -> Contact:
    """Add a contact (audited, published); the highest contact level may rise, and with it the score."""
    await _check_unique(session, account_id=account.id, name=body.name, level=body.level)
    contact = new_contact(account.id, body, actor, at.now)
    if body.reports_to_id is not None:
        await _check_reports_to(session, account_id=account.id, contact_id=contact.id, reports_to_id=body.reports_to_id)
    async with rescoring(
        session, tables, publisher=publisher, account_id=account.id, at=at, reason="contact level reached"
    ):
        session.add(contact)
        await session.flush()
        await refresh_contact_level(session, account_id=account.id, now=at.now)
    await level_review.announce_pending(session, publisher, [contact], now=at.now)
    await _audit(session, "contact.created", contact, actor=actor, at=at, before=None)
    await publish_contact(session, publisher, contact, now=at.now)
    return contact


async def _audit(
    session: AsyncSession, action: str, contact: Contact, *, actor: Principal, at: AsOf, before: dict[str, Any] | None
) -> None:
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action=action,
        object_type="contact",
        object_id=contact.id,
        before=before,
        after=snapshot(contact, AUDITED),
        at=at.now,
    )


def _changes(contact: Contact, body: ContactUpdate) -> dict[str, Any]:
    changes = {
        key: value.strip() if key == "name" and value else value
        for key, value in body.model_dump(exclude_unset=True).items()
        if value is not None or key in NULLABLE
    }
    return {key: value for key, value in changes.items() if getattr(contact, key) != value}


async def update_contact(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    contact: Contact,
    body: ContactUpdate,
    actor: Principal,
    at: AsOf,
) -> Contact:
    """Change a contact (audited with from/to, published); its level may move the highest contact level."""
    if contact.retired_at is not None:
        raise Conflict(f"Contact {contact.id} is retired", contact_id=contact.id)
    changes = _changes(contact, body)
    if not changes:
        return contact
    if "name" in changes or "level" in changes:
        name, level = changes.get("name", contact.name), changes.get("level", contact.level)
        await _check_unique(session, account_id=contact.account_id, name=name, level=level, own_id=contact.id)
    if changes.get("reports_to_id") is not None:
        await _check_reports_to(
            session, account_id=contact.account_id, contact_id=contact.id, reports_to_id=changes["reports_to_id"]
        )
    before = snapshot(contact, AUDITED)
    async with rescoring(
        session, tables, publisher=publisher, account_id=contact.account_id, at=at, reason="contact changed"
    ):
        for key, value in changes.items():
            setattr(contact, key, value)
        if "level" in changes:
            level_review.reported(contact, actor=actor, now=at.now)
        contact.version += 1
        contact.updated_at = at.now
        await session.flush()
        await refresh_contact_level(session, account_id=contact.account_id, now=at.now)
    if "level" in changes:
        await level_review.announce_pending(session, publisher, [contact], now=at.now)
    await _audit(session, "contact.updated", contact, actor=actor, at=at, before=before)
    await publish_contact(session, publisher, contact, now=at.now)
    return contact


async def retire_contact(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    contact: Contact,
    body: ContactRetire,
    actor: Principal,
    at: AsOf,
) -> Contact:
    """Retire a contact with a reason: kept (history, engagements), hidden from the default list, published with
    ``active`` false; the level may drop. Those reporting to them keep the link (shown at the top of the chart)."""
    if contact.retired_at is not None:
        raise Conflict(f"Contact {contact.id} is retired already", contact_id=contact.id)
    before = snapshot(contact, AUDITED)
    async with rescoring(
        session, tables, publisher=publisher, account_id=contact.account_id, at=at, reason="contact retired"
    ):
        contact.retired_at, contact.retired_by, contact.retire_reason = at.now, actor.user_id, body.reason
        contact.version += 1
        contact.updated_at = at.now
        await session.flush()
        await refresh_contact_level(session, account_id=contact.account_id, now=at.now)
    await _audit(session, "contact.retired", contact, actor=actor, at=at, before=before)
    await publish_contact(session, publisher, contact, now=at.now)
    return contact


async def list_contacts(session: AsyncSession, *, account_id: str, include_retired: bool = False) -> list[Contact]:
    """The contacts of an account, executives first (retired ones only when asked)."""
    order = case({"executive": 0, "decision": 1, "execution": 2}, value=Contact.level, else_=3)
    query = select(Contact).where(Contact.account_id == account_id)
    if not include_retired:
        query = query.where(Contact.retired_at.is_(None))
    rows = await session.execute(query.order_by(order, Contact.created_at, Contact.id))
    return list(rows.scalars())


async def contact_history(session: AsyncSession, *, contact: Contact) -> list[ContactChange]:
    """Every change of a contact, oldest first: who, when, what from and to (from the audit log)."""
    table = audit_log
    rows = await session.execute(
        select(table.c.at, table.c.actor_id, table.c.action, table.c.before, table.c.after)
        .where(table.c.object_type == "contact", table.c.object_id == contact.id)
        .order_by(table.c.id)
    )
    return [ContactChange.model_validate(dict(row._mapping)) for row in rows]


async def org_chart(session: AsyncSession, *, account_id: str) -> OrgChart:
    """The account's active contacts as a tree of who reports to whom."""
    contacts = {c.id: c for c in await list_contacts(session, account_id=account_id)}
    people = [Person(c.id, c.reports_to_id, c.level, c.name) for c in contacts.values()]

    def node(branch: Branch) -> OrgChartNode:
        return OrgChartNode(
            contact=ContactRead.of(contacts[branch.contact_id]), reports=[node(b) for b in branch.reports]
        )

    return OrgChart(account_id=account_id, roots=[node(b) for b in build_tree(people)])


async def check_participant_contacts(
    session: AsyncSession, *, account_id: str, contact_ids: Sequence[str], field: str = ""
) -> None:
    """Every id a contact of the account (retired ones too: an engagement may predate the retirement); else a 422
    naming ``participant_contact_ids.N``."""
    if not contact_ids:
        return
    found = set(
        (
            await session.scalars(
                select(Contact.id).where(Contact.account_id == account_id, Contact.id.in_(set(contact_ids)))
            )
        ).all()
    )
    for i, contact_id in enumerate(contact_ids):
        if contact_id not in found:
            raise Unprocessable(
                f"Contact {contact_id} is no contact of this account", field=f"{field}participant_contact_ids.{i}"
            )
