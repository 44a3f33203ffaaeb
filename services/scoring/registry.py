"""The KA registry: accounts, their team and contacts; every change kept in the projection and published."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.credit_code import credit_code_problem
from services.scoring.feature_store import features_for, refresh_contact_level
from services.scoring.features import LEVEL_RANK
from services.scoring.models import Account, Contact, Engagement
from services.scoring.rescoring import rescore_account, rescore_accounts
from services.scoring.schemas import AccountCreate, AccountUpdate, ContactCreate, RatingsUpdate
from shared.auth import ACCOUNT_MANAGER, ADMIN, SERVICE, SUPERVISOR, Principal, visible_accounts_clause
from shared.bus import add_event
from shared.db import PlatformTables
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.events import AccountOwnerChanged, AccountRegistered, AccountUpdated
from shared.projection import upsert_account

SORTABLE = ("name", "score", "tier", "created_at", "updated_at", "industry", "region")
TIER_RANK = {"strategic": 0, "key": 1, "growth": 2, "maintain": 3}
SNAPSHOT_FIELDS = ("name", "name_en", "industry", "region", "status")


def snapshot(account: Account) -> dict[str, Any]:
    """The event snapshot of an account (``AccountSnapshot``)."""
    return {
        "name": account.name,
        "name_en": account.name_en,
        "industry": account.industry,
        "region": account.region,
        "status": account.status,
        "tier": account.tier,
        "owner_id": account.owner_id,
        "team_member_ids": list(account.team_member_ids or []),
    }


async def _project(session: AsyncSession, tables: PlatformTables, account: Account) -> None:
    await upsert_account(
        session,
        tables,
        account_id=account.id,
        name=account.name,
        name_en=account.name_en,
        industry=account.industry,
        region=account.region,
        status=account.status,
        tier=account.tier,
        owner_id=account.owner_id,
        team_member_ids=account.team_member_ids or [],
    )


def _check_credit_code(code: str | None) -> str | None:
    if code is None:
        return None
    normalised = code.strip().upper()
    problem = credit_code_problem(normalised)
    if problem is not None:
        raise Unprocessable(f"Invalid unified social credit code {code!r}: {problem}", field="credit_code")
    return normalised


async def _ensure_unique_code(session: AsyncSession, code: str | None, account_id: str | None = None) -> None:
    if code is None:
        return
    other = await session.scalar(
        select(Account.id).where(Account.credit_code == code, Account.id != (account_id or ""))
    )
    if other is not None:
        raise Conflict(f"Credit code {code} is already registered for account {other}", account_id=other)


def _team(owner_id: str, members: Sequence[str]) -> list[str]:
    return sorted({m.strip() for m in members if m and m.strip() and m.strip() != owner_id})


async def register_account(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    data: AccountCreate,
    principal: Principal,
    now: datetime,
    score: bool = True,
) -> Account:
    """Register a company: profile, team and contacts; project it, publish ``registered`` and score it."""
    owner_id = data.owner_id or principal.user_id
    if not principal.sees_whole_portfolio and principal.has_any({ACCOUNT_MANAGER}) and owner_id != principal.user_id:
        raise Forbidden("Account managers register accounts they own themselves")
    if data.ratings is not None and not principal.has_any({SUPERVISOR, ADMIN, SERVICE}):
        raise Forbidden("Only the supervisor rates strategic significance")
    code = _check_credit_code(data.credit_code)
    await _ensure_unique_code(session, code)
    account = Account(
        id=str(uuid.uuid4()),
        name=data.name,
        name_en=data.name_en,
        credit_code=code,
        industry=data.industry,
        region=data.region,
        company_size=data.company_size,
        annual_revenue=data.annual_revenue,
        currency=data.currency.upper(),
        listed=data.listed,
        parent_group=data.parent_group,
        status=data.status,
        owner_id=owner_id,
        team_member_ids=_team(owner_id, data.team_member_ids),
        cooperation_since=data.cooperation_since,
        version=1,
        **_ratings_fields(data.ratings, principal.user_id, now),
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    await session.flush()
    for contact in data.contacts:
        session.add(_contact(account.id, contact, now))
    for i, engagement in enumerate(data.engagements):
        if engagement.occurred_on > now.date():
            raise Unprocessable("occurred_on cannot be in the future", field=f"engagements.{i}.occurred_on")
        session.add(
            Engagement(
                id=str(uuid.uuid4()),
                account_id=account.id,
                created_by=principal.user_id,
                created_at=now,
                **engagement.model_dump(),
            )
        )
    await _project(session, tables, account)
    await add_event(
        session,
        tables.outbox,
        AccountRegistered(source="scoring", account_id=account.id, time=now, data=snapshot(account)),
    )
    features = await features_for(session, account_id=account.id, now=now)
    levels = [c.level for c in data.contacts] + [e.level for e in data.engagements]
    features.highest_contact_level = max((LEVEL_RANK[level] for level in levels), default=0)
    if score:
        await rescore_account(
            session, tables, account_id=account.id, now=now, reason="registered", actor=principal.user_id
        )
    return account


def _ratings_fields(ratings: RatingsUpdate | None, user_id: str, now: datetime) -> dict[str, Any]:
    if ratings is None:
        return {}
    fields = ratings.model_dump(exclude={"rationale"}, exclude_unset=True)
    return {**fields, "ratings_rationale": ratings.rationale, "rated_by": user_id, "rated_at": now}


def _contact(account_id: str, data: ContactCreate, now: datetime) -> Contact:
    return Contact(id=str(uuid.uuid4()), account_id=account_id, created_at=now, **data.model_dump())


async def register_accounts(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    accounts: Sequence[AccountCreate],
    principal: Principal,
    now: datetime,
) -> list[Account]:
    """Register many accounts in one transaction (an import): all or none."""
    registered = []
    for i, data in enumerate(accounts):
        try:
            registered.append(
                await register_account(session, tables, data=data, principal=principal, now=now, score=False)
            )
        except Unprocessable as exc:
            field = exc.extra.get("field")
            raise Unprocessable(
                f"accounts.{i}: {exc.detail}", field=f"accounts.{i}.{field}" if field else f"accounts.{i}"
            ) from exc
    # One pass for the whole import: the scores, tier moves and events are written in bulk.
    await session.flush()
    await rescore_accounts(session, tables, account_ids=[a.id for a in registered], now=now, reason="registered")
    ids = [a.id for a in registered]
    # The bulk write bypassed the loaded objects: reload them in one query.
    await session.execute(select(Account).where(Account.id.in_(ids)).execution_options(populate_existing=True))
    return registered


async def get_account(session: AsyncSession, *, account_id: str) -> Account:
    """An account or 404 (access is checked by the caller)."""
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound(f"Account {account_id} not found")
    return account


async def update_account(
    session: AsyncSession, tables: PlatformTables, *, account: Account, data: AccountUpdate, now: datetime
) -> Account:
    """Apply profile changes; publish ``accounts.updated`` and re-score when something changed."""
    changes = data.model_dump(exclude_unset=True)
    for required in ("name", "industry", "region", "status", "listed"):
        if required in changes and changes[required] is None:
            raise Unprocessable(f"{required} cannot be null", field=required)
    if "credit_code" in changes:
        changes["credit_code"] = _check_credit_code(changes["credit_code"])
        await _ensure_unique_code(session, changes["credit_code"], account.id)
    changed = {k: v for k, v in changes.items() if getattr(account, k) != v}
    if not changed:
        return account
    for key, value in changed.items():
        setattr(account, key, value)
    account.version += 1
    account.updated_at = now
    await session.flush()
    await _project(session, tables, account)
    await add_event(
        session,
        tables.outbox,
        AccountUpdated(source="scoring", account_id=account.id, time=now, data=snapshot(account)),
    )
    if {"cooperation_since", "status"} & set(changed):
        await rescore_account(session, tables, account_id=account.id, now=now, reason="profile changed")
    return account


async def set_team(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    account: Account,
    owner_id: str,
    members: Sequence[str],
    now: datetime,
) -> Account:
    """Change owner and members; publish ``accounts.owner_changed`` (same transaction as the projection)."""
    team = _team(owner_id, members)
    if owner_id == account.owner_id and team == sorted(account.team_member_ids or []):
        return account
    old_owner = account.owner_id
    account.owner_id, account.team_member_ids = owner_id, team
    account.version += 1
    account.updated_at = now
    await session.flush()
    await _project(session, tables, account)
    await add_event(
        session,
        tables.outbox,
        AccountOwnerChanged(
            source="scoring",
            account_id=account.id,
            time=now,
            data={"old_owner_id": old_owner, "new_owner_id": owner_id, "team_member_ids": team},
        ),
    )
    return account


async def set_ratings(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    account: Account,
    ratings: dict[str, Any],
    rationale: str,
    user_id: str,
    now: datetime,
) -> Account:
    """Record the supervisor's qualitative ratings with the rationale and re-score."""
    for key, value in ratings.items():
        setattr(account, key, value)
    account.ratings_rationale, account.rated_by, account.rated_at = rationale, user_id, now
    account.version += 1
    account.updated_at = now
    await session.flush()
    await rescore_account(session, tables, account_id=account.id, now=now, reason="ratings changed", actor=user_id)
    return account


async def add_contact(
    session: AsyncSession, tables: PlatformTables, *, account: Account, data: ContactCreate, now: datetime
) -> Contact:
    """Add a contact; the highest contact level may rise, so re-score."""
    contact = _contact(account.id, data, now)
    session.add(contact)
    await session.flush()
    if await refresh_contact_level(session, account_id=account.id, now=now):
        await rescore_account(session, tables, account_id=account.id, now=now, reason="contact level reached")
    return contact


async def list_contacts(session: AsyncSession, *, account_id: str) -> list[Contact]:
    """The contacts of an account, executives first."""
    order = case({"executive": 0, "decision": 1, "execution": 2}, value=Contact.level, else_=3)
    rows = await session.execute(
        select(Contact).where(Contact.account_id == account_id).order_by(order, Contact.created_at)
    )
    return list(rows.scalars())


async def list_accounts(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    principal: Principal,
    tier: str | None = None,
    owner_id: str | None = None,
    industry: str | None = None,
    region: str | None = None,
    status: str | None = None,
    q: str | None = None,
    sort: tuple[str, bool] = ("name", False),
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Account], int]:
    """A page of the accounts the caller may see, filtered and sorted, with the total."""
    query = select(Account).where(visible_accounts_clause(tables, principal, Account.id))
    if tier:
        query = query.where(Account.tier == tier)
    if owner_id:
        query = query.where(Account.owner_id == owner_id)
    if industry:
        query = query.where(Account.industry == industry)
    if region:
        query = query.where(Account.region == region)
    if status:
        query = query.where(Account.status == status)
    if q:
        like = f"%{q}%"
        query = query.where(Account.name.like(like) | Account.name_en.like(like))
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    field, descending = sort
    column: Any = (
        case(TIER_RANK, value=Account.tier, else_=len(TIER_RANK)) if field == "tier" else getattr(Account, field)
    )
    ordered = column.desc() if descending else column.asc()
    if field == "score":
        ordered = ordered.nulls_last()
    rows = await session.execute(query.order_by(ordered, Account.id).limit(limit).offset(offset))
    return list(rows.scalars()), total
