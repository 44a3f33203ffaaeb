"""Engagement log and cadence in the database: log dialogues, keep the policy, list what is overdue, and announce
each overdue level once per period (``accounts.engagement_overdue``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    String,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.contacts import level_review
from services.scoring.contacts.service import check_participant_contacts
from services.scoring.engagement.cadence import (
    DEFAULT_CADENCE,
    LEVEL_ORDER,
    LevelStatus,
    account_rank,
    cadence_status,
    overdue_before,
    overdue_notice,
)
from services.scoring.engagement.models import CadenceRule, Engagement, EngagementOverdueNotice
from services.scoring.engagement.schemas import CadencePolicy, EngagementCreate, EngagementStatusRead, LevelStatusRead
from services.scoring.features import AsOf
from services.scoring.models import Base
from services.scoring.registry.models import Account
from services.scoring.scores.consistency import rescoring
from services.scoring.scores.feature_store import refresh_contact_level
from services.scoring.scores.portfolio_state import lock_state
from shared.api import Page, PageParams
from shared.auth import Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.clock import business_date
from shared.db import PlatformTables
from shared.errors import Unprocessable
from shared.events import EngagementOverdue, EngagementOverdueData
from shared.people import require_assignable
from shared.vocabulary import TIER_CODES


async def check_engagement(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    account_id: str,
    body: EngagementCreate,
    today: date,
    field: str = "",
) -> None:
    """An engagement held on a business date not after ``today`` (company zone) or planned on one not before it,
    with our participants known, active and able to see the account and the contacts who took part contacts of the
    account (422 naming the field, ``field`` prefixing it inside a larger body)."""
    if body.occurred_on is None and body.planned_on is None:
        raise Unprocessable("occurred_on (held) or planned_on (planned) is required", field=f"{field}occurred_on")
    await check_engagement_fields(
        session, tables, account_id=account_id, fields=body.model_dump(), today=today, field=field
    )


async def check_engagement_fields(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    account_id: str,
    fields: dict[str, Any],
    today: date,
    field: str = "",
) -> None:
    """The rules of ``check_engagement`` for the fields given (a change checks only what it changes; a planned date
    is checked only for a planned engagement)."""
    occurred_on = fields.get("occurred_on")
    if occurred_on is not None and occurred_on > today:
        raise Unprocessable(f"occurred_on {occurred_on} is after today ({today})", field=f"{field}occurred_on")
    planned_on = fields.get("planned_on")
    if occurred_on is None and planned_on is not None and planned_on < today:
        raise Unprocessable(f"planned_on {planned_on} is before today ({today})", field=f"{field}planned_on")
    for i, user_id in enumerate(fields.get("our_participant_ids") or []):
        await require_assignable(
            session, tables, user_id=user_id, field=f"{field}our_participant_ids.{i}", account_id=account_id
        )
    await check_participant_contacts(
        session, account_id=account_id, contact_ids=fields.get("participant_contact_ids") or [], field=field
    )


def new_engagement(account_id: str, body: EngagementCreate, actor: Principal, now: datetime) -> Engagement:
    """An engagement row (checked already): held when it has ``occurred_on``, else planned; its level counts once
    confirmed (contacts/level_review.py)."""
    engagement = Engagement(
        id=str(uuid.uuid4()),
        account_id=account_id,
        status="planned" if body.occurred_on is None else "held",
        version=1,
        created_by=actor.user_id,
        created_at=now,
        **body.model_dump(),
    )
    level_review.reported(engagement, actor=actor, now=now)
    return engagement


async def log_engagement(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account: Account,
    body: EngagementCreate,
    actor: Principal,
    at: AsOf,
) -> Engagement:
    """Record a held engagement (the contact level may rise, and with it the score) or plan one."""
    await check_engagement(session, tables, account_id=account.id, body=body, today=at.today)
    engagement = new_engagement(account.id, body, actor, at.now)
    async with rescoring(
        session,
        tables,
        publisher=publisher,
        account_id=account.id,
        at=at,
        reason="contact level reached",
        actor_id=actor.user_id,
    ):
        session.add(engagement)
        await session.flush()
        await refresh_contact_level(session, account_id=account.id, now=at.now)
    await level_review.announce_pending(session, publisher, [engagement], now=at.now)
    return engagement


async def list_engagements(
    session: AsyncSession, *, account_id: str, limit: int, offset: int, status: str | None = None
) -> list[Engagement]:
    """Engagements of an account (optionally only ``held`` or ``planned``), latest first (a planned one at its due
    date)."""
    query = select(Engagement).where(Engagement.account_id == account_id)
    if status is not None:
        query = query.where(Engagement.status == status)
    on = func.coalesce(Engagement.occurred_on, Engagement.planned_on)
    rows = await session.execute(
        query.order_by(on.desc(), Engagement.created_at.desc(), Engagement.id).limit(limit).offset(offset)
    )
    return list(rows.scalars())


async def cadence_rules(session: AsyncSession) -> dict[str, dict[str, int]]:
    """The stored policy, or the default one when none was set."""
    rows = (await session.execute(select(CadenceRule))).scalars().all()
    if not rows:
        return {tier: dict(levels) for tier, levels in DEFAULT_CADENCE.items()}
    rules: dict[str, dict[str, int]] = {}
    for row in rows:
        rules.setdefault(row.tier, {})[row.level] = row.every_days
    return rules


async def cadence_policy(session: AsyncSession) -> CadencePolicy:
    """The policy in force as served: days between contacts per tier (best first) and level."""
    rules = await cadence_rules(session)
    return CadencePolicy.model_validate(
        {"rules": [{"tier": t, "level": lv, "every_days": d} for t in TIER_CODES for lv, d in rules.get(t, {}).items()]}
    )


async def replace_cadence_rules(session: AsyncSession, *, body: CadencePolicy) -> None:
    """Replace the whole policy (a tier and level at most once)."""
    seen = set()
    for i, rule in enumerate(body.rules):
        if (rule.tier, rule.level) in seen:
            raise Unprocessable(f"Duplicate rule for {rule.tier}/{rule.level}", field=f"rules.{i}")
        seen.add((rule.tier, rule.level))
    await session.execute(delete(CadenceRule))
    session.add_all(CadenceRule(tier=r.tier, level=r.level, every_days=r.every_days) for r in body.rules)
    await session.flush()


async def last_contacts(session: AsyncSession, account_ids: Sequence[str] | None) -> dict[str, dict[str, date]]:
    """Latest engagement date per account and level (all accounts when ``account_ids`` is None)."""
    query = (
        select(Engagement.account_id, Engagement.level, func.max(Engagement.occurred_on))
        .where(Engagement.occurred_on.is_not(None))
        .group_by(Engagement.account_id, Engagement.level)
    )
    if account_ids is not None:
        query = query.where(Engagement.account_id.in_(account_ids))
    result: dict[str, dict[str, date]] = {}
    for account_id, level, last in (await session.execute(query)).all():
        if last is not None:  # planned engagements have no date held yet
            result.setdefault(account_id, {})[level] = last
    return result


async def account_cadence(session: AsyncSession, *, account: Account, today: date) -> list[LevelStatus]:
    """Cadence status of one account."""
    rules = await cadence_rules(session)
    last = (await last_contacts(session, [account.id])).get(account.id, {})
    return cadence_status(account.tier, rules, last, today)


async def engagement_status(session: AsyncSession, *, account: Account, today: date) -> EngagementStatusRead:
    """Last contact per level of one account, when the next is due and whether it is overdue."""
    levels = await account_cadence(session, account=account, today=today)
    return EngagementStatusRead(
        account_id=account.id,
        account_name=account.name,
        tier=account.tier,
        owner_id=account.owner_id,
        overdue=any(s.overdue for s in levels),
        levels=[LevelStatusRead(**s.__dict__) for s in levels],
    )


async def overdue_accounts(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    actor: Principal,
    today: date,
    owner_id: str | None = None,
    tier: str | None = None,
) -> list[EngagementStatusRead]:
    """Active accounts the actor may see that missed their tier's cadence at some level, ranked by
    ``cadence.account_rank``: tier first, then the level of the most urgent gap, then its days overdue (never
    contacted first), then name."""
    query = select(Account.id, Account.name, Account.tier, Account.owner_id).where(
        visible_accounts_clause(tables, actor, Account.id),
        Account.status != "former",
        Account.tier.is_not(None),
    )
    if owner_id:
        query = query.where(Account.owner_id == owner_id)
    if tier:
        query = query.where(Account.tier == tier)
    accounts = (await session.execute(query)).all()
    rules = await cadence_rules(session)
    last = await last_contacts(session, [a.id for a in accounts]) if len(accounts) <= 5000 else None
    if last is None:
        last = await last_contacts(session, None)
    ranked = []
    for account in accounts:
        levels = cadence_status(account.tier, rules, last.get(account.id, {}), today)
        if any(s.overdue for s in levels):
            item = EngagementStatusRead(
                account_id=account.id,
                account_name=account.name,
                tier=account.tier,
                owner_id=account.owner_id,
                overdue=True,
                levels=[LevelStatusRead(**s.__dict__) for s in levels],
            )
            ranked.append(((*account_rank(account.tier, levels), account.name, account.id), item))
    ranked.sort(key=lambda pair: pair[0])
    return [item for _, item in ranked]


async def overdue_page(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    actor: Principal,
    today: date,
    page: PageParams,
    owner_id: str | None = None,
    tier: str | None = None,
) -> Page[EngagementStatusRead]:
    """One page of ``overdue_accounts`` with the total."""
    overdue = await overdue_accounts(session, tables, actor=actor, today=today, owner_id=owner_id, tier=tier)
    items = overdue[page.offset : page.offset + page.limit]
    return Page(items=items, total=len(overdue), limit=page.limit, offset=page.offset)


async def announce_overdue_engagements(session: AsyncSession, *, publisher: Publisher, at: AsOf) -> int:
    """Publish ``accounts.engagement_overdue`` once per account and contact level each time the level falls overdue
    under its tier's cadence (business dates of ``at``); returns how many were published.

    One query finds, for the whole portfolio, the overdue levels whose current period (since the last contact at
    the level) was not announced yet; their notice rows and events are written in bulk in the same transaction, so
    later runs skip a level while it stays overdue and a new engagement at it starts a new period. The
    portfolio-state lock keeps two replicas' runs apart.
    """
    await lock_state(session)
    rules = await cadence_rules(session)
    query = _unannounced_overdue(rules, at.today)
    if query is None:
        return 0
    rows: dict[bool, list[dict[str, Any]]] = {True: [], False: []}  # announced before (update) → rows
    events: list[tuple[str | None, EngagementOverdueData]] = []
    order: tuple[str, ...] = LEVEL_ORDER
    found = sorted((await session.execute(query)).all(), key=lambda r: (r.id, order.index(r.level)))
    for account_id, tier, owner_id, created_at, level, last_on, notified_at in found:
        registered_on = business_date(created_at, at.zone)
        notice = overdue_notice(level, rules[tier][level], last_on, registered_on=registered_on, today=at.today)
        rows[notified_at is not None].append(
            {
                "account_id": account_id,
                "contact_level": level,
                "last_engaged_on": last_on,
                "due_on": notice.due_on,
                "days_overdue": notice.days_overdue,
                "notified_at": at.now,
            }
        )
        data = EngagementOverdueData(
            contact_level=level, days_overdue=notice.days_overdue, owner_id=owner_id, last_engaged_on=last_on
        )
        events.append((account_id, data))
    await _write_notices(session, new=rows[False], renewed=rows[True])
    if events:
        await publisher.publish_many(session, EngagementOverdue, events, time=at.now)
    return len(events)


def _unannounced_overdue(rules: dict[str, dict[str, int]], today: date) -> CompoundSelect[Any] | None:
    """The overdue levels not announced for their current period, as one statement over the whole portfolio: for
    each tier and level of the policy, the active accounts of the tier with no contact at the level since the
    cut-off (``overdue_before``), unless the notice row already holds their period (their last contact, or none).

    Rows: account id, tier, owner, registered at, level, last contact at the level, when announced before (None:
    never).
    """
    notice = EngagementOverdueNotice
    parts = []
    for tier, levels in rules.items():
        for level, every_days in levels.items():
            last = (
                select(func.max(Engagement.occurred_on))
                .where(Engagement.account_id == Account.id, Engagement.level == level)
                .correlate(Account)
                .scalar_subquery()
            )
            part = (
                select(
                    Account.id,
                    Account.tier,
                    Account.owner_id,
                    Account.created_at,
                    cast(literal(level), String(20)).label("level"),
                    last.label("last_on"),
                    notice.notified_at,
                )
                .outerjoin(notice, and_(notice.account_id == Account.id, notice.contact_level == level))
                .where(Account.tier == tier, Account.status != "former")
                .where(or_(last.is_(None), last < overdue_before(every_days, today)))
                .where(or_(notice.account_id.is_(None), notice.last_engaged_on.is_distinct_from(last)))
            )
            parts.append(part)
    return union_all(*parts) if parts else None


async def _write_notices(session: AsyncSession, *, new: list[dict[str, Any]], renewed: list[dict[str, Any]]) -> None:
    """Insert the first notices of levels and replace the notices of levels announced before (one statement each,
    executed for many rows)."""
    table = Base.metadata.tables[EngagementOverdueNotice.__tablename__]
    if new:
        await session.execute(insert(table), new)
    if renewed:
        statement = (
            update(table)
            .where(
                table.c.account_id == bindparam("b_account_id"), table.c.contact_level == bindparam("b_contact_level")
            )
            .values({c: bindparam(f"b_{c}") for c in ("last_engaged_on", "due_on", "days_overdue", "notified_at")})
        )
        await session.execute(statement, [{f"b_{k}": v for k, v in row.items()} for row in renewed])
